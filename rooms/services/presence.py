"""Who is in a room: one presence row per open connection, kept alive by its process's heartbeat;
renaming a member; expiring the presence of processes that died."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from chatsite.prepared_reads import PreparedRead
from rooms.errors import ChatError
from rooms.models import Presence, Room, ServerProcess, Watcher
from rooms.services.sessions import load_session
from rooms.validation import check_name, name_key


def beat_heart(server_id):
    """Mark a server process alive; its presence rows count while its heartbeat is fresh.
    Returns True when the process was unknown: new, or expired by the others after going silent."""
    _process, created = ServerProcess.objects.update_or_create(id=server_id, defaults={"heartbeat_at": timezone.now()})
    return created


def live_presences(room=None):
    """Connections of live processes, open or closed within the grace period."""
    presences = presences_alive(**presence_cutoffs())
    return presences.filter(room=room) if room is not None else presences


def presence_cutoffs():
    """A connection counts if it is open or left after `left_after`, and its process beat since
    `beat_since`."""
    now = timezone.now()
    return {
        "left_after": now - timedelta(seconds=settings.PRESENCE_GRACE_SECONDS),
        "beat_since": now - timedelta(seconds=settings.PRESENCE_STALE_SECONDS),
    }


def presences_alive(left_after, beat_since):
    return Presence.objects.filter(
        Q(left_at__isnull=True) | Q(left_at__gt=left_after), server__heartbeat_at__gte=beat_since
    )


def add_presence(room, server_id, channel_name, name, session_key, ip=""):
    """Record a connection (and its address, where a kick's ban applies). Returns True when it is
    this session's first connection in the room."""
    with transaction.atomic():
        first = not session_present(room_id=room.id, session_key=session_key, **presence_cutoffs())
        try:
            with transaction.atomic():
                Presence.objects.create(
                    channel_name=channel_name,
                    room=room,
                    server_id=server_id,
                    name=name,
                    name_key=name_key(name),
                    session_key=session_key,
                    ip=ip,
                )
        except IntegrityError:
            pass  # a process re-registering its connections raced this connection's own add
    return first


def remove_presence(channel_name):
    """A connection closed: it counts for PRESENCE_GRACE_SECONDS more (settle_departures then
    decides whether its session left)."""
    Presence.objects.filter(channel_name=channel_name, left_at__isnull=True).update(left_at=timezone.now())


def settle_departures(room=None):
    """Forget connections closed more than PRESENCE_GRACE_SECONDS ago (in `room`, or everywhere).
    Returns {room code: names of the sessions that left for good}: those with no other connection
    in the room, open or within its own grace. On PostgreSQL the rows are locked with SKIP LOCKED,
    so two processes settling at once announce each departure once."""
    cutoff = timezone.now() - timedelta(seconds=settings.PRESENCE_GRACE_SECONDS)
    with transaction.atomic():
        closed = Presence.objects.filter(left_at__lte=cutoff)
        if room is not None:
            closed = closed.filter(room=room)
        if connection.features.has_select_for_update_skip_locked:
            closed = closed.select_for_update(skip_locked=True)
        rows = list(closed.values_list("pk", "room_id", "room__code", "session_key", "name"))
        if not rows:
            return {}
        Presence.objects.filter(pk__in=[row[0] for row in rows]).delete()
        staying = set(
            live_presences()
            .filter(room_id__in={row[1] for row in rows}, session_key__in={row[3] for row in rows})
            .values_list("room_id", "session_key")
        )
    departed = {}
    for _connection, room_id, code, session_key, name in rows:
        if (room_id, session_key) not in staying:
            departed.setdefault(code, set()).add(name)
    return departed


def room_members(room):
    """Names of the people in the room now, one per session, sorted case-insensitively."""
    names = {}
    for session_key, name in members_by_arrival(room_id=room.id, **presence_cutoffs()):
        names[session_key] = name
    return sorted(names.values(), key=str.casefold)


def check_name_free(room, name, session_key=None):
    """Refuse a name that another session present in the room (or within its grace period) goes
    by, compared with `name_key`; the session's own name is its own."""
    key = name_key(name)
    if session_key:
        taken = name_taken_by_another(room_id=room.id, key=key, session_key=session_key, **presence_cutoffs())
    else:
        taken = name_taken(room_id=room.id, key=key, **presence_cutoffs())
    if taken:
        raise ChatError(
            "name_taken",
            format_lazy(_("Someone in this room is already called {name}; please choose another name."), name=name),
        )


session_present = PreparedRead(
    lambda room_id, session_key, left_after, beat_since: (
        presences_alive(left_after, beat_since)
        .filter(room_id=room_id, session_key=session_key)
        .values_list("pk", flat=True)[:1]
    ),
    room_id=int,
    session_key=str,
    left_after=datetime,
    beat_since=datetime,
)
members_by_arrival = PreparedRead(
    lambda room_id, left_after, beat_since: (
        presences_alive(left_after, beat_since)
        .filter(room_id=room_id)
        .order_by("connected_at")
        .values_list("session_key", "name")
    ),
    room_id=int,
    left_after=datetime,
    beat_since=datetime,
)
name_taken = PreparedRead(
    lambda room_id, key, left_after, beat_since: (
        presences_alive(left_after, beat_since).filter(room_id=room_id, name_key=key).values_list("pk", flat=True)[:1]
    ),
    room_id=int,
    key=str,
    left_after=datetime,
    beat_since=datetime,
)
name_taken_by_another = PreparedRead(
    lambda room_id, key, session_key, left_after, beat_since: (
        presences_alive(left_after, beat_since)
        .filter(room_id=room_id, name_key=key)
        .exclude(session_key=session_key)
        .values_list("pk", flat=True)[:1]
    ),
    room_id=int,
    key=str,
    session_key=str,
    left_after=datetime,
    beat_since=datetime,
)


def room_presence(room):
    """What every page's member panel shows: (member names, how many watch through the watch link)."""
    return room_members(room), watcher_count(room)


def expire_stale_servers():
    """Delete processes that stopped beating, with their presence. Returns, per affected room's code,
    the names that left: sessions still connected through another live process did not leave.

    Every live process runs this on its heartbeat. On PostgreSQL the stale rows are locked with
    SKIP LOCKED, so when two processes expire the same dead one at once only one of them announces
    its departures."""
    cutoff = timezone.now() - timedelta(seconds=settings.PRESENCE_STALE_SECONDS)
    with transaction.atomic():
        stale_servers = ServerProcess.objects.filter(heartbeat_at__lt=cutoff)
        if connection.features.has_select_for_update_skip_locked:
            stale_servers = stale_servers.select_for_update(skip_locked=True)
        stale_ids = list(stale_servers.values_list("id", flat=True))
        if not stale_ids:
            return {}
        stale = Presence.objects.filter(server_id__in=stale_ids).select_related("room")
        live_elsewhere = set(
            live_presences()
            .filter(room__in=stale.values("room"))
            .exclude(server_id__in=stale_ids)
            .values_list("room_id", "session_key")
        )
        departed = {}
        for presence in stale:
            if (presence.room_id, presence.session_key) not in live_elsewhere:
                departed.setdefault(presence.room.code, set()).add(presence.name)
        # Watchers leave silently, but their rooms' watcher counts change.
        for code in Watcher.objects.filter(server_id__in=stale_ids).values_list("room__code", flat=True):
            departed.setdefault(code, set())
        ServerProcess.objects.filter(id__in=stale_ids).delete()
    return departed


def rename_member(session_key, new_name):
    """Change a session's display name: in its session (so a refresh keeps it) and in its presence in
    every room. A name another member of one of those rooms goes by is refused (`check_name_free`).
    Returns `(old, new, rooms)` where `rooms` maps each room code the session is in to
    its `room_presence` after the change; `rooms` is empty when the name did not change."""
    new_name = check_name(new_name)
    store = load_session(session_key)
    if store is None:
        raise ChatError("no_name", _("Your session has ended; reload the page to choose a name."))
    # The stored name, not the connection's copy: a rename made in another tab is the "old" one.
    old_name = store.get("name") or new_name
    if old_name == new_name:
        return old_name, new_name, {}
    room_ids = set(live_presences().filter(session_key=session_key).values_list("room_id", flat=True))
    in_rooms = list(Room.objects.filter(id__in=room_ids))
    for room in in_rooms:
        check_name_free(room, new_name, session_key)
    store["name"] = new_name
    store.save()
    Presence.objects.filter(session_key=session_key).update(name=new_name, name_key=name_key(new_name))
    rooms = {room.code: room_presence(room) for room in in_rooms}
    return old_name, new_name, rooms


def add_watcher(room, server_id, channel_name):
    Watcher.objects.get_or_create(channel_name=channel_name, defaults={"room": room, "server_id": server_id})


def remove_watcher(channel_name):
    Watcher.objects.filter(channel_name=channel_name).delete()


def watcher_count(room):
    counted = watchers_of_room(room_id=room.id, beat_since=presence_cutoffs()["beat_since"])
    return counted[0] if counted else 0


# Read with every member list: a prepared read (grouped by room, so no watcher is no row).
watchers_of_room = PreparedRead(
    lambda room_id, beat_since: (
        Watcher.objects.filter(room_id=room_id, server__heartbeat_at__gte=beat_since)
        .values("room_id")
        .annotate(watchers=Count("pk"))
        .values_list("watchers", flat=True)
    ),
    room_id=int,
    beat_since=datetime,
)
