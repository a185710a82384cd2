"""Who may join a room: the per-IP limit on unknown codes, kicks, locks and the passphrase."""

import math
import time

from django.conf import settings
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.models import RoomSanction
from rooms.services.budgets import count, guarded, limiter_cache, take
from rooms.services.moderation import ban_wait, is_owner, sanctions_in_force
from rooms.services.presence import live_presences
from rooms.services.rooms import find_room
from rooms.services.sessions import ADMITTED_ROOMS_SESSION_KEY, has_joined
from rooms.validation import normalize_code


def client_ip(remote_addr, forwarded_for=None):
    """The client's address: the socket peer, or, behind TRUSTED_PROXY_COUNT trusted proxies, the
    address the outermost trusted proxy saw (X-Forwarded-For is only believed from those)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if hops:
            # Each proxy appends the peer it saw; entries further left can be forged by the client.
            return hops[-proxies] if len(hops) >= proxies else hops[0]
    return remote_addr or "unknown"


def _join_miss_keys(ip):
    return f"rooms:join-miss:{ip}:count", f"rooms:join-miss:{ip}:start"


def check_join_attempts(ip):
    """Refuse any join by code from an IP that guessed too many unknown codes lately.

    Known codes are refused too while the limit holds, so a lock-out cannot be used to tell
    existing codes from unknown ones."""
    count_key, start_key = _join_miss_keys(ip)
    if (guarded(lambda: limiter_cache().get(count_key)) or 0) < settings.JOIN_MISS_LIMIT:
        return
    start = guarded(lambda: limiter_cache().get(start_key)) or time.time()
    wait = max(1, math.ceil(start + settings.JOIN_MISS_WINDOW_SECONDS - time.time()))
    raise ChatError(
        "rate_limited",
        format_lazy(_("Too many attempts with unknown room codes; try again in {wait} seconds."), wait=wait),
        retry_after=wait,
    )


def record_join_miss(ip):
    """Count one join attempt on an unknown code; the window starts at the first miss."""
    count_key, start_key = _join_miss_keys(ip)
    window = settings.JOIN_MISS_WINDOW_SECONDS

    def count_miss():
        limiter_cache().add(start_key, time.time(), window)
        if count(count_key, window) == 1:  # expired between the two: this miss opens a new window
            limiter_cache().set(start_key, time.time(), window)

    guarded(count_miss)


def take_new_join(ip, session, code):
    """Count a session newly admitted to room `code` against its IP (NEW_JOINS_PER_IP_PER_MINUTE):
    fresh cookie jars cannot be minted without limit. A session that was admitted before is free."""
    if has_joined(session, normalize_code(code)):
        return
    take(
        "new-join",
        ip,
        settings.NEW_JOINS_PER_IP_PER_MINUTE,
        60,
        _("Too many new visitors joined from your address lately; try again in {wait} seconds."),
    )


def find_room_to_join(code, ip, session=None):
    """The room a visitor asks for by code, or None; every miss counts against their IP and a
    locked-out IP gets `ChatError("rate_limited")`. A session already admitted to the room comes
    back whatever its IP did: it reveals nothing, and a stranger guessing codes behind the same
    address (an office, a carrier's NAT) must not lock a member out of his own room. Views and
    the consumer join through this."""
    if has_joined(session, normalize_code(code)):
        return find_room(code)
    check_join_attempts(ip)
    room = find_room(code)
    if room is None:
        record_join_miss(ip)
    return room


def check_may_join(room, session_key, owner_key=None, ip=None, session=None, sanctions=None):
    """Refuse a kicked session (until its kick ends), a session new to the room from the address
    of a kicked member (`ip`, until the ban ends; sessions admitted before are not new) and, in a
    locked room, anyone who was not present when it was locked and is not present now; the owner
    may always join. `sanctions`: the session's sanctions in force, when the caller has read them."""
    if is_owner(room, owner_key):
        return
    if sanctions is None:
        sanctions = sanctions_in_force(room, session_key)
    until = sanctions.get(RoomSanction.KICK)
    if until is not None:
        wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
        raise ChatError("kicked", _("The owner removed you from this room."), retry_after=wait)
    if ip is not None and not has_joined(session, room.code):
        wait = ban_wait(room, ip)
        if wait:
            raise ChatError(
                "kicked", _("The owner removed someone at your address from this room; try later."), retry_after=wait
            )
    # `room` is read by the request or connection that asks: its lock is current.
    if (
        room.locked
        and session_key not in room.admitted_while_locked
        and not live_presences(room).filter(session_key=session_key).exists()
    ):
        raise ChatError("locked", _("This room is locked: no new members can join."))


def needs_passphrase(room, session, owner_key=None):
    """Whether this session must still give the room's passphrase before joining: not when it was
    present when the passphrase was set, nor once it gave it."""
    if not room.passphrase_hash or is_owner(room, owner_key):
        return False
    session_key = getattr(session, "session_key", None)
    if session_key and session_key in room.admitted_with_passphrase:
        return False
    return room.code not in (session.get(ADMITTED_ROOMS_SESSION_KEY) or [])


def admit_with_passphrase(room, session, passphrase, ip):
    """Check a passphrase; a right one admits the session. Wrong guesses count against the IP
    exactly like unknown room codes (check_join_attempts), so guessing is rate-limited."""
    from django.contrib.auth.hashers import check_password

    check_join_attempts(ip)
    if (
        not isinstance(passphrase, str)
        or not room.passphrase_hash
        or not check_password(passphrase, room.passphrase_hash)
    ):
        record_join_miss(ip)
        raise ChatError("wrong_passphrase", _("That passphrase is not right."))
    session[ADMITTED_ROOMS_SESSION_KEY] = [*(session.get(ADMITTED_ROOMS_SESSION_KEY) or []), room.code]
