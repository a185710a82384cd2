"""The read-only watch link: the owner creates or revokes it; watchers are counted, never listed."""

import hmac
import secrets

from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.models import Room
from rooms.services.admission import check_join_attempts, record_join_miss
from rooms.services.moderation import check_owner, hash_token
from rooms.services.rooms import find_room
from rooms.services.sessions import WATCH_LINKS_SESSION_KEY


def set_watch_link(room, key, active):
    """The owner creates a watch link (replacing any earlier one, which stops working) or, with
    `active` false, revokes it. Returns the new token, or None when revoked; the consumer then
    disconnects the watchers of the old link."""
    check_owner(room, key)
    if not isinstance(active, bool):
        raise ChatError("invalid_frame", _("`active` must be true or false."))
    token = secrets.token_urlsafe(24) if active else None
    room.watch_token_hash = hash_token(token) if token else ""
    Room.objects.filter(pk=room.pk).update(watch_token_hash=room.watch_token_hash)
    return token


def current_watch_hash(room):
    return Room.objects.filter(pk=room.pk).values_list("watch_token_hash", flat=True).first() or ""


def is_watch_token(room, token):
    stored = current_watch_hash(room)
    return bool(stored) and isinstance(token, str) and hmac.compare_digest(stored, hash_token(token))


def find_watched_room(code, token, ip):
    """The room a watch link opens, or None when the code or token is wrong (counted against the IP
    like an unknown room code, so tokens cannot be guessed quickly)."""
    check_join_attempts(ip)
    room = find_room(code)
    if room is None or not is_watch_token(room, token):
        record_join_miss(ip)
        return None
    return room


def watch_token_in_session(room, session):
    """The owner's own copy of the room's current watch token, if this session created it."""
    links = session.get(WATCH_LINKS_SESSION_KEY) if session is not None else None
    token = links.get(room.code) if isinstance(links, dict) else None
    return token if is_watch_token(room, token) else None
