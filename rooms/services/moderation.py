"""The owner's powers: the owner key, handing the room on, kick, mute, lock, passphrase and expiry."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from chatsite.prepared_reads import PreparedRead
from rooms.errors import ChatError
from rooms.limits import EXPIRY_MAX_HOURS, EXPIRY_MIN_HOURS, KICK_MINUTES
from rooms.models import Room, RoomBan, RoomSanction
from rooms.protocol import format_timestamp
from rooms.services.presence import live_presences
from rooms.services.sessions import load_session, remember_owner_key
from rooms.validation import check_mute_minutes, check_passphrase_text


def hash_token(key):
    # Owner keys and watch tokens are random bytes, not passwords: a fast hash is enough.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_owner_key(room):
    """Give the room a fresh owner key (any earlier key stops working) and return it."""
    key = secrets.token_urlsafe(32)
    room.owner_key_hash = hash_token(key)
    room.save(update_fields=["owner_key_hash"])
    return key


def is_owner(room, key):
    """Whether `key` is this room's current owner key (read fresh: ownership can move)."""
    if not isinstance(key, str) or not key:
        return False
    stored = Room.objects.filter(pk=room.pk).values_list("owner_key_hash", flat=True).first()
    return bool(stored) and hmac.compare_digest(stored, hash_token(key))


def check_owner(room, key):
    if not is_owner(room, key):
        raise ChatError("forbidden", _("Only the room's owner can do that."))


def _present_sessions(room, name):
    """Session keys of the people present under this display name (names are not unique)."""
    if not isinstance(name, str) or not name.strip():
        raise ChatError("invalid_name", _("Name the member."))
    keys = sorted(set(live_presences(room).filter(name=name.strip()).values_list("session_key", flat=True)))
    if not keys:
        raise ChatError("not_present", format_lazy(_("Nobody named {name} is in the room."), name=name.strip()[:32]))
    return keys


def transfer_ownership(room, key, to_name):
    """Hand the room to a present member: a new key goes into their session(s); the old key dies.
    Returns (new key, the receiving session keys)."""
    check_owner(room, key)
    targets = _present_sessions(room, to_name)
    new_key = new_owner_key(room)
    for session_key in targets:
        store = load_session(session_key)
        if store is not None:
            remember_owner_key(store, room.code, new_key)
            store.save()
    return new_key, targets


def sanction_until(room, session_key, kind):
    """When the session's sanction of this kind ends, or None if none is in force."""
    return sanctions_in_force(room, session_key).get(kind)


def sanctions_in_force(room, session_key):
    """{kind: when it ends} for the session's sanctions in force in the room: one query for a
    joining connection's kick and mute."""
    ends = {}
    for kind, until in sanctions_of_session(room_id=room.id, session_key=session_key, now=timezone.now()):
        ends[kind] = max(until, ends.get(kind, until))
    return ends


sanctions_of_session = PreparedRead(
    lambda room_id, session_key, now: RoomSanction.objects.filter(
        room_id=room_id, session_key=session_key, until__gt=now
    ).values_list("kind", "until"),
    room_id=int,
    session_key=str,
    now=datetime,
)


def _sanction(room, key, name, kind, minutes):
    check_owner(room, key)
    targets = _present_sessions(room, name)
    until = timezone.now() + timedelta(minutes=minutes)
    RoomSanction.objects.bulk_create(
        [RoomSanction(room=room, session_key=session_key, kind=kind, until=until) for session_key in targets]
    )
    return targets, until


def kick_member(room, key, name):
    """Remove a present member; their session cannot rejoin for KICK_MINUTES, and no new session
    from the addresses they connected from may join for KICK_IP_BAN_MINUTES (a fresh cookie jar
    is not a way back in). Returns session keys."""
    targets, _until = _sanction(room, key, name, RoomSanction.KICK, KICK_MINUTES)
    # An address the server did not learn ("unknown": no peer) would bar everyone alike: skipped.
    addresses = set(live_presences(room).filter(session_key__in=targets).values_list("ip", flat=True))
    addresses -= {"", "unknown"}
    until = timezone.now() + timedelta(minutes=settings.KICK_IP_BAN_MINUTES)
    RoomBan.objects.bulk_create([RoomBan(room=room, ip=ip, name=name.strip(), until=until) for ip in sorted(addresses)])
    return targets


def active_bans(room):
    """The room's bans in force, for its owner: id, the kicked name and until when (never the address)."""
    bans = RoomBan.objects.filter(room=room, until__gt=timezone.now()).order_by("until", "id")
    return [{"id": ban.id, "name": ban.name, "until": format_timestamp(ban.until)} for ban in bans]


def lift_ban(room, key, ban_id):
    """The owner lets that address's new sessions join again. Returns the bans still in force."""
    check_owner(room, key)
    if isinstance(ban_id, bool) or not isinstance(ban_id, int) or ban_id < 1:
        raise ChatError("invalid_id", _("`id` must be the id of a ban."))
    deleted, _by_model = RoomBan.objects.filter(room=room, id=ban_id).delete()
    if not deleted:
        raise ChatError("ban_not_found", _("That ban is over or was lifted already."))
    return active_bans(room)


def ban_wait(room, ip):
    """Seconds until no ban keeps new sessions from `ip` out of the room, or 0."""
    latest = latest_ban_of_address(room_id=room.id, ip=ip, now=timezone.now())
    return max(1, int((latest[0] - timezone.now()).total_seconds()) + 1) if latest else 0


latest_ban_of_address = PreparedRead(
    lambda room_id, ip, now: (
        RoomBan.objects.filter(room_id=room_id, ip=ip, until__gt=now)
        .order_by("-until")
        .values_list("until", flat=True)[:1]
    ),
    room_id=int,
    ip=str,
    now=datetime,
)


def mute_member(room, key, name, minutes):
    """Mute a present member for `minutes`. Returns (session keys, until)."""
    return _sanction(room, key, name, RoomSanction.MUTE, check_mute_minutes(minutes))


def set_locked(room, key, locked):
    """Lock or unlock the room. Locking admits the sessions present now for as long as it stays
    locked, so a member whose connection drops (or who refreshes) is not shut out."""
    check_owner(room, key)
    if not isinstance(locked, bool):
        raise ChatError("invalid_frame", _("`locked` must be true or false."))
    admitted = sorted(set(live_presences(room).values_list("session_key", flat=True))) if locked else []
    Room.objects.filter(pk=room.pk).update(locked=locked, admitted_while_locked=admitted)
    room.locked = locked
    room.admitted_while_locked = admitted
    return locked


def check_not_muted(muted_until):
    """Refuse a message from a session muted until `muted_until` (None: not muted)."""
    if muted_until is not None and muted_until > timezone.now():
        raise ChatError(
            "muted", _("The owner muted you; you can read but not send."), until=format_timestamp(muted_until)
        )


class HashedPassphrase(str):
    """A passphrase already checked and hashed (its hash, or "" for none): stored as is."""


def hash_passphrase(passphrase):
    """Check and hash a passphrase to set. The hash costs a quarter of a second of CPU on purpose:
    callers on the event loop run this in a worker thread, not on a database thread."""
    from django.contrib.auth.hashers import make_password

    passphrase = check_passphrase_text(passphrase)
    return HashedPassphrase(make_password(passphrase) if passphrase else "")


def store_passphrase(room, passphrase):
    if not isinstance(passphrase, HashedPassphrase):
        passphrase = hash_passphrase(passphrase)
    room.passphrase_hash = str(passphrase)
    Room.objects.filter(pk=room.pk).update(passphrase_hash=room.passphrase_hash)


def set_passphrase(room, key, passphrase):
    """The owner sets (or, with "", removes) the passphrase. It is for new members: the sessions
    present now (and those admitted by an earlier setting) may come back without it."""
    check_owner(room, key)
    store_passphrase(room, passphrase)
    admitted = []
    if passphrase:
        current = Room.objects.filter(pk=room.pk).values_list("admitted_with_passphrase", flat=True).first() or []
        admitted = sorted({*current, *live_presences(room).values_list("session_key", flat=True)})
    Room.objects.filter(pk=room.pk).update(admitted_with_passphrase=admitted)
    room.admitted_with_passphrase = admitted
    return bool(passphrase)


def set_expiry(room, key, hours):
    """The owner makes the room disappear `hours` from now (1 hour to 30 days); None cancels."""
    check_owner(room, key)
    if hours is None:
        expires_at = None
    elif isinstance(hours, bool) or not isinstance(hours, int) or not EXPIRY_MIN_HOURS <= hours <= EXPIRY_MAX_HOURS:
        raise ChatError(
            "invalid_expiry",
            format_lazy(
                _("Choose {min_hours} to {max_hours} hours (30 days)."),
                min_hours=EXPIRY_MIN_HOURS,
                max_hours=EXPIRY_MAX_HOURS,
            ),
        )
    else:
        expires_at = timezone.now() + timedelta(hours=hours)
    Room.objects.filter(pk=room.pk).update(expires_at=expires_at)
    room.expires_at = expires_at
    return expires_at
