"""Domain operations of roomchat: the one place that creates rooms, posts messages, reads history
and tracks presence. Views, the websocket consumer, the admin and management commands all call
these functions, so every rule lives here once.

`check_*` functions validate untrusted input and raise `ChatError` with a user-facing detail;
the other functions perform the change. All functions are synchronous ORM code: async callers
wrap them with `database_sync_to_async`.
"""

import hashlib
import hmac
import json
import math
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import ijson
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Message, MessageChange, Presence, Reaction, Room, ServerProcess, Watcher

# Upper-case letters and digits without look-alikes (0/O, 1/I) so codes survive being read aloud.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CLIENT_ID_MAX_CHARS = 64


class ChatError(Exception):
    """A request that breaks a rule; `code` is machine-readable, `detail` is shown to the user."""

    def __init__(self, code, detail, **extra):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra  # more fields for the error frame, e.g. retry_after


# --- validation -----------------------------------------------------------------------------


def _has_forbidden_characters(text, allow_newlines):
    for char in text:
        if allow_newlines and char in "\n\t":
            continue
        category = unicodedata.category(char)
        # Control characters corrupt displays and logs; lone surrogates cannot be stored as UTF-8.
        if category == "Cc" or category == "Cs":
            return True
    return False


def check_name(name):
    """A display name, trimmed: 1 to NAME_MAX_CHARS characters of printable text."""
    if not isinstance(name, str):
        raise ChatError("invalid_name", "Name must be text.")
    name = name.strip()
    if not name:
        raise ChatError("invalid_name", "Please enter a display name.")
    if len(name) > settings.NAME_MAX_CHARS:
        raise ChatError("invalid_name", f"Names can be at most {settings.NAME_MAX_CHARS} characters.")
    if _has_forbidden_characters(name, allow_newlines=False):
        raise ChatError("invalid_name", "Names cannot contain control characters.")
    return name


def check_body(body):
    """A message body, trimmed, with Windows line ends made plain: 1 to MESSAGE_MAX_CHARS characters."""
    if not isinstance(body, str):
        raise ChatError("invalid_message", "Message body must be text.")
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise ChatError("empty_message", "Message is empty.")
    if len(body) > settings.MESSAGE_MAX_CHARS:
        raise ChatError("message_too_long", f"Messages can be at most {settings.MESSAGE_MAX_CHARS} characters.")
    if _has_forbidden_characters(body, allow_newlines=True):
        raise ChatError("invalid_message", "Messages cannot contain control characters.")
    return body


def check_client_id(client_id):
    """The sender's idempotency key: optional, at most 64 printable characters."""
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX_CHARS:
        raise ChatError("invalid_client_id", "client_id must be text of 1 to 64 characters.")
    if _has_forbidden_characters(client_id, allow_newlines=False):
        raise ChatError("invalid_client_id", "client_id cannot contain control characters.")
    return client_id


def check_title(title):
    title = (title or "").strip()
    if len(title) > settings.TITLE_MAX_CHARS:
        raise ChatError("invalid_title", f"Titles can be at most {settings.TITLE_MAX_CHARS} characters.")
    if _has_forbidden_characters(title, allow_newlines=False):
        raise ChatError("invalid_title", "Titles cannot contain control characters.")
    return title


def normalize_code(code):
    """Codes are matched case-insensitively and without surrounding spaces."""
    return (code or "").strip().upper()


# --- rooms ----------------------------------------------------------------------------------


def generate_code(length=None):
    length = length or settings.ROOM_CODE_LENGTH
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def create_room(title="", code=None):
    """Create a room with a fresh unique code (or the given one, which must be free)."""
    title = check_title(title)
    if code is not None:
        code = normalize_code(code)
        if not code or any(char not in CODE_ALPHABET for char in code):
            raise ChatError("invalid_code", f"Room codes use only these characters: {CODE_ALPHABET}.")
        if Room.objects.filter(code=code).exists():
            raise ChatError("code_taken", f"Room {code} already exists.")
        return Room.objects.create(code=code, title=title)
    for _ in range(20):
        try:
            with transaction.atomic():
                return Room.objects.create(code=generate_code(), title=title)
        except IntegrityError:
            continue  # a collision: draw again
    raise ChatError("no_free_code", "Could not find a free room code; try a longer ROOM_CODE_LENGTH.")


def find_room(code):
    """The room with this code (any case, spaces ignored), or None."""
    code = normalize_code(code)
    # No real code is longer than the column or holds NUL (which PostgreSQL cannot even compare).
    if not code or len(code) > Room._meta.get_field("code").max_length or "\x00" in code:
        return None
    return Room.objects.filter(code=code).first()


def get_room(code):
    room = find_room(code)
    if room is None:
        raise ChatError("room_not_found", f"There is no room with code {normalize_code(code)}.")
    return room


# --- messages -------------------------------------------------------------------------------


def format_timestamp(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_to_dict(message):
    """A message as the wire protocol's `message` frame."""
    return {
        "type": "message",
        "id": message.id,
        "name": message.name,
        "body": message.body,
        "ts": format_timestamp(message.created_at),
        "client_id": message.client_id,
        "author": author_tag(message.room_id, message.author_key),
        **rich_fields(message),
    }


def post_message(room, name, body, client_id=None, session_key=None):
    """Store a message. Returns `(message, created)`; a repeated client_id returns the stored one.
    `session_key`, when given, makes that session the author who may edit or delete it."""
    return _store_one(
        room, name, check_body(body), check_client_id(client_id), timezone.now(), author_key_of(session_key)
    )


def _store_one(room, name, body, client_id, created_at, author_key=None):
    # Insert first: a resend is rare, so the common case costs one INSERT and no lookup.
    try:
        with transaction.atomic():
            message = Message.objects.create(
                room=room, name=name, body=body, client_id=client_id, created_at=created_at, author_key=author_key
            )
    except IntegrityError:
        stored = client_id is not None and Message.objects.filter(room=room, client_id=client_id).first()
        if stored:
            return stored, False
        if not Room.objects.filter(pk=room.pk).exists():  # purged while the message was on its way
            raise ChatError("room_removed", "This room was removed.") from None
        raise
    return message, True


def store_messages(entries):
    """Store already checked `(room, name, body, client_id, author_key)` entries together (group commit): one
    transaction and one multi-row INSERT for the lot. Returns `(message, created)` per entry, in
    order; a client_id stored before (or twice in `entries`) gives the stored message, not created,
    and an entry for a room removed meanwhile gives `ChatError("room_removed")` instead of a pair."""
    now = timezone.now()
    messages = [
        Message(room=room, name=name, body=body, client_id=client_id, created_at=now, author_key=author_key)
        for room, name, body, client_id, author_key in entries
    ]
    try:
        with transaction.atomic():
            Message.objects.bulk_create(messages)
        return [(message, True) for message in messages]
    except IntegrityError:
        # A resend (or a removed room) is in the batch: store one by one, each resend resolving to the
        # stored message; a refused entry gives its ChatError, so only its sender hears of it.
        results = []
        for room, name, body, client_id, author_key in entries:
            try:
                results.append(_store_one(room, name, body, client_id, now, author_key))
            except ChatError as error:
                results.append(error)
        return results


def recent_history(room, before=None, limit=None):
    """Up to `limit` messages before the id `before` (or the newest), oldest first, and has_more."""
    limit = limit or settings.HISTORY_LIMIT
    messages = Message.objects.filter(room=room)
    if before is not None:
        messages = messages.filter(id__lt=before)
    page = list(messages.order_by("-id").prefetch_related("reactions")[: limit + 1])
    has_more = len(page) > limit
    return page[:limit][::-1], has_more


def messages_after(room, after, limit=None):
    """Messages with id greater than `after`, oldest first, at most `limit`, and has_more."""
    limit = limit or settings.HISTORY_LIMIT
    page = list(
        Message.objects.filter(room=room, id__gt=after).order_by("id").prefetch_related("reactions")[: limit + 1]
    )
    return page[:limit], len(page) > limit


# --- presence -------------------------------------------------------------------------------


def beat_heart(server_id):
    """Mark a server process alive; its presence rows count while its heartbeat is fresh.
    Returns True when the process was unknown: new, or expired by the others after going silent."""
    _, created = ServerProcess.objects.update_or_create(id=server_id, defaults={"heartbeat_at": timezone.now()})
    return created


def live_presences(room=None):
    cutoff = timezone.now() - timedelta(seconds=settings.PRESENCE_STALE_SECONDS)
    presences = Presence.objects.filter(server__heartbeat_at__gte=cutoff)
    return presences.filter(room=room) if room is not None else presences


def add_presence(room, server_id, channel_name, name, session_key):
    """Record a connection. Returns True when it is this session's first connection in the room."""
    with transaction.atomic():
        first = not live_presences(room).filter(session_key=session_key).exists()
        # get_or_create: a process re-registering its connections may race a connection's own add.
        Presence.objects.get_or_create(
            channel_name=channel_name,
            defaults={"room": room, "server_id": server_id, "name": name, "session_key": session_key},
        )
    return first


def remove_presence(channel_name):
    """Forget a connection. Returns True when it was its session's last connection in the room."""
    presence = Presence.objects.filter(channel_name=channel_name).first()
    if presence is None:
        return False
    presence.delete()
    return not live_presences(presence.room_id).filter(session_key=presence.session_key).exists()


def room_members(room):
    """Names of the people in the room now, one per session, sorted case-insensitively."""
    names = {}
    for session_key, name in live_presences(room).order_by("connected_at").values_list("session_key", "name"):
        names[session_key] = name
    return sorted(names.values(), key=str.casefold)


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


# --- join attempts on unknown codes -----------------------------------------------------------
# Counted per client IP in Django's cache. The default cache (LocMemCache) is per process, so with
# several server processes each allows JOIN_MISS_LIMIT; a shared cache (Redis) makes it global.


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
    if (cache.get(count_key) or 0) < settings.JOIN_MISS_LIMIT:
        return
    start = cache.get(start_key) or time.time()
    wait = max(1, math.ceil(start + settings.JOIN_MISS_WINDOW_SECONDS - time.time()))
    raise ChatError(
        "rate_limited",
        f"Too many attempts with unknown room codes; try again in {wait} seconds.",
        retry_after=wait,
    )


def record_join_miss(ip):
    """Count one join attempt on an unknown code; the window starts at the first miss."""
    count_key, start_key = _join_miss_keys(ip)
    window = settings.JOIN_MISS_WINDOW_SECONDS
    cache.add(start_key, time.time(), window)
    cache.add(count_key, 0, window)
    try:
        cache.incr(count_key)
    except ValueError:  # expired between add and incr: this miss opens a new window
        cache.set(start_key, time.time(), window)
        cache.set(count_key, 1, window)


def find_room_to_join(code, ip):
    """The room a visitor asks for by code, or None; every miss counts against their IP and a
    locked-out IP gets `ChatError("rate_limited")`. Views and the consumer join through this."""
    check_join_attempts(ip)
    room = find_room(code)
    if room is None:
        record_join_miss(ip)
    return room


# --- room experience: rename, typing, history paging ----------------------------------------


def _session_store(session_key):
    """The session with this key, loaded fresh (not a connection's cached copy), or None if gone."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    store.get("name")  # loads it; a missing or expired session leaves no key
    return store if store.session_key else None


def rename_member(session_key, new_name):
    """Change a session's display name: in its session (so a refresh keeps it) and in its presence in
    every room. Returns `(old, new, rooms)` where `rooms` maps each room code the session is in to
    its `room_presence` after the change; `rooms` is empty when the name did not change."""
    new_name = check_name(new_name)
    store = _session_store(session_key)
    if store is None:
        raise ChatError("no_name", "Your session has ended; reload the page to choose a name.")
    # The stored name, not the connection's copy: a rename made in another tab is the "old" one.
    old_name = store.get("name") or new_name
    if old_name == new_name:
        return old_name, new_name, {}
    store["name"] = new_name
    store.save()
    with transaction.atomic():
        Presence.objects.filter(session_key=session_key).update(name=new_name)
        room_ids = set(live_presences().filter(session_key=session_key).values_list("room_id", flat=True))
    rooms = {room.code: room_presence(room) for room in Room.objects.filter(id__in=room_ids)}
    return old_name, new_name, rooms


def check_before(before):
    """The id a history page ends before: a positive integer."""
    if isinstance(before, bool) or not isinstance(before, int) or before < 1:
        raise ChatError("invalid_before", "`before` must be a positive message id.")
    return before


def history_before(room, before):
    """The page of messages before the id `before` (HISTORY_LIMIT of them), oldest first, and has_more."""
    return recent_history(room, before=check_before(before))


def rooms_with_stats(rooms=None):
    """Rooms annotated, in one query, with their message count, last activity (the last message, or
    the creation of a room without any) and members online, for operators. Correlated subqueries
    rather than joins, so the counts do not multiply each other and a page costs one query."""
    rooms = Room.objects.all() if rooms is None else rooms
    messages = Message.objects.filter(room=OuterRef("pk")).order_by()
    members = live_presences().filter(room=OuterRef("pk")).order_by()
    return rooms.annotate(
        message_count=Coalesce(Subquery(messages.values("room").annotate(n=Count("id")).values("n")), 0),
        last_activity=Coalesce(Subquery(messages.order_by("-id").values("created_at")[:1]), F("created_at")),
        members_online=Coalesce(
            Subquery(members.values("room").annotate(n=Count("session_key", distinct=True)).values("n")), 0
        ),
    )


# --- operators: idle rooms, purge, export, import, statistics ---------------------------------

PURGE_BATCH_SIZE = 5000  # messages deleted per transaction, so a big purge never holds a long lock
EXPORT_CHUNK_SIZE = 2000  # rows fetched per database round trip while exporting
IMPORT_BATCH_SIZE = 1000  # messages inserted per transaction while importing
EXPORT_FORMAT = "roomchat-export"
EXPORT_VERSION = 1


def idle_condition(days):
    """Filter for rooms_with_stats(): no message for more than `days` days (for an empty room:
    created before that) and nobody in the room now."""
    return Q(last_activity__lt=timezone.now() - timedelta(days=days), members_online=0)


def idle_rooms(days, rooms=None):
    """Rooms idle for more than `days` days (see idle_condition), annotated like rooms_with_stats."""
    return rooms_with_stats(rooms).filter(idle_condition(days))


@dataclass
class PurgeResult:
    rooms: int = 0
    messages: int = 0
    codes: list = field(default_factory=list)


def purge_rooms(rooms, batch_size=None):
    """Delete rooms (a queryset, whose conditions are checked again before each room goes, or an
    iterable of rooms) with their messages, then close the live connections of every deleted room
    with a `room_removed` error.

    A room's messages go in batches of `batch_size`, each its own short transaction, so purging a
    large room never locks the database for long; the room row goes last, with any message posted
    meanwhile. Returns a PurgeResult with the numbers of rooms and messages deleted."""
    batch_size = batch_size or PURGE_BATCH_SIZE
    is_queryset = isinstance(rooms, QuerySet)
    room_ids = list(rooms.values_list("pk", flat=True)) if is_queryset else [r.pk for r in rooms]
    result = PurgeResult()
    for room_id in room_ids:
        # A queryset's conditions (say, idle_rooms) are checked again right before each room goes:
        # a room that came back to life during a long purge is kept.
        if is_queryset and not rooms.filter(pk=room_id).exists():
            continue
        while True:
            # The id closing a full batch: deleting up to it touches exactly batch_size rows.
            edge = list(
                Message.objects.filter(room_id=room_id)
                .order_by("id")
                .values_list("id", flat=True)[batch_size - 1 : batch_size]
            )
            if not edge:
                break
            with transaction.atomic():
                result.messages += Message.objects.filter(room_id=room_id, id__lte=edge[0]).delete()[0]
        with transaction.atomic():
            room = Room.objects.filter(pk=room_id).first()
            if room is None:
                continue  # already gone
            _, per_model = room.delete()
        result.rooms += 1
        result.messages += per_model.get(Message._meta.label, 0)
        result.codes.append(room.code)
    if result.codes:
        codes = list(result.codes)
        transaction.on_commit(lambda: announce_rooms_removed(codes))
    return result


def announce_rooms_removed(codes):
    """Close every live connection of these deleted rooms, in every process."""
    from asgiref.sync import async_to_sync

    from . import delivery  # delivery imports this module

    async_to_sync(delivery.publish_rooms_removed)(codes)


def missing_room_codes(codes):
    """Those of `codes` whose room no longer exists."""
    codes = set(codes)
    return codes - set(Room.objects.filter(code__in=codes).values_list("code", flat=True)) if codes else set()


_quote = json.encoder.encode_basestring  # a JSON string literal, as json.dumps(ensure_ascii=False) writes it


def _encode(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _room_header(room):
    return {"code": room.code, "title": room.title, "created_at": format_timestamp(room.created_at)}


def iter_room_messages(room, chunk_size=None):
    """A room's messages as (name, body, created_at, client_id), oldest first, fetched in chunks so
    memory stays constant however long the history is."""
    return (
        Message.objects.filter(room=room, deleted=False)  # a deleted message's body is gone
        .order_by("id")
        .values_list("name", "body", "created_at", "client_id")
        .iterator(chunk_size=chunk_size or EXPORT_CHUNK_SIZE)
    )


def _iter_export_json(rooms):
    yield f'{{"format":"{EXPORT_FORMAT}","version":{EXPORT_VERSION},"rooms":['
    for index, room in enumerate(rooms):
        header = _encode(_room_header(room))
        yield ("," if index else "") + "\n" + header[:-1] + ',"messages":['
        separator = "\n"
        for name, body, created_at, client_id in iter_room_messages(room):
            # Same text as _encode() of the dict, built directly: this loop runs once per message.
            client = "null" if client_id is None else _quote(client_id)
            ts = format_timestamp(created_at)
            yield f'{separator}{{"name":{_quote(name)},"body":{_quote(body)},"ts":"{ts}","client_id":{client}}}'
            separator = ",\n"
        yield "\n]}"
    yield "\n]}\n"


def _iter_export_text(rooms):
    for index, room in enumerate(rooms):
        title = f" {room.title}" if room.title else ""
        yield ("\n" if index else "") + f"# Room {room.code}{title} (created {format_timestamp(room.created_at)})\n"
        for name, body, created_at, _ in iter_room_messages(room):
            # Continuation lines are indented so a multi-line message stays one entry.
            yield f"[{format_timestamp(created_at)}] {name}: {body.replace(chr(10), chr(10) + '  ')}\n"


def export_rooms(rooms, fmt="json", chunk_chars=64 * 1024):
    """The full history of `rooms` as an iterator of text chunks of about `chunk_chars` characters:
    `json` (what import_room reads back) or `text` (for people). Streams: memory stays constant."""
    if fmt not in ("json", "text"):
        raise ChatError("invalid_format", "Export format must be json or text.")
    pieces = _iter_export_json(rooms) if fmt == "json" else _iter_export_text(rooms)
    buffer, size = [], 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= chunk_chars:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def _parse_timestamp(value, where):
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ChatError("invalid_export", f"{where}: {str(value)[:40]!r} is not an ISO 8601 time.") from None
    if timezone.is_naive(moment):
        raise ChatError("invalid_export", f"{where}: time {value!r} has no time zone.")
    return moment


def read_export(stream):
    """The rooms of an export file (a binary stream), read incrementally: yields one dict per room
    whose "messages" is a lazy iterator over the file, so importing a room of a million messages
    holds one batch at a time. Consume each room's messages before asking for the next room. The
    format and version must come before "rooms", and a room's fields before its messages, as
    export_rooms writes them."""
    events = ijson.parse(stream, use_float=True)
    header = {}
    depth = 0
    for prefix, event, value in events:
        if event == "start_map" and prefix == "" and depth == 0:
            depth = 1
        elif depth == 1 and prefix in ("format", "version") and event in ("string", "number"):
            header[prefix] = value
        elif depth == 1 and prefix == "rooms" and event == "start_array":
            if header.get("format") != EXPORT_FORMAT:
                raise ChatError("invalid_export", f"Not a roomchat export (a JSON object with format {EXPORT_FORMAT}).")
            if header.get("version") != EXPORT_VERSION:
                raise ChatError("invalid_export", f"Unsupported export version {header.get('version')!r}.")
            yield from _read_export_rooms(events)
            return
        elif depth == 1 and event in ("start_map", "start_array"):
            _build_value(events, event, value)  # some other field: skip it
        elif depth == 0:
            break
    raise ChatError("invalid_export", f"Not a roomchat export (a JSON object with format {EXPORT_FORMAT}).")


def _build_value(events, event, value):
    """The whole JSON value that starts with (event, value), read from `events`."""
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1 if event in ("start_map", "start_array") else 0
    while depth:
        _, event, value = next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value


def _read_export_rooms(events):
    for _, event, value in events:
        if event == "end_array":
            return
        if event != "start_map":
            raise ChatError("invalid_export", "Each room must be a JSON object.")
        room, key, had_messages = {}, None, False
        for _, event, value in events:
            if event == "end_map":
                break
            if event == "map_key":
                key = value
            elif key == "messages" and event == "start_array":
                had_messages = True
                messages = _read_export_messages(events)
                yield {**room, "messages": messages}
                for _ in messages:  # whatever the caller left unread
                    pass
            else:
                room[key] = _build_value(events, event, value)
        if not had_messages:
            yield {**room, "messages": iter(())}


def _read_export_messages(events):
    for _, event, value in events:
        if event == "end_array":
            return
        yield _build_value(events, event, value)


def _imported_messages(room, entries):
    for number, entry in enumerate(entries, 1):
        where = f"message {number}"
        if not isinstance(entry, dict):
            raise ChatError("invalid_export", f"{where}: not an object.")
        try:
            name = check_name(entry.get("name"))
            body = check_body(entry.get("body"))
            client_id = check_client_id(entry.get("client_id"))
        except ChatError as error:
            raise ChatError("invalid_export", f"{where}: {error.detail}") from None
        created_at = _parse_timestamp(entry.get("ts"), where)
        yield Message(room=room, name=name, body=body, created_at=created_at, client_id=client_id)


def import_room(data, batch_size=None):
    """Recreate one exported room (a dict as export_rooms writes it, or from read_export, whose
    messages are a lazy iterator) with all its messages. It keeps
    its code when that is free, otherwise it gets a new one. Messages are inserted in batches, each
    its own transaction; if the data turns out bad midway the half-made room is removed again.
    Returns the new room."""
    batch_size = batch_size or IMPORT_BATCH_SIZE
    if not isinstance(data, dict):
        raise ChatError("invalid_export", "A room must be a JSON object.")
    entries = data.get("messages", [])
    if isinstance(entries, dict | str) or not hasattr(entries, "__iter__"):
        raise ChatError("invalid_export", "A room's messages must be a list.")
    title = check_title(data.get("title"))
    created_at = _parse_timestamp(data.get("created_at"), "room") if data.get("created_at") else None
    code = normalize_code(data.get("code") if isinstance(data.get("code"), str) else "")
    room = None
    if code and all(char in CODE_ALPHABET for char in code):
        try:
            room = create_room(title, code=code)
        except ChatError:
            room = None  # taken: draw a new one below
    room = room or create_room(title)
    try:
        if created_at is not None:
            Room.objects.filter(pk=room.pk).update(created_at=created_at)
            room.created_at = created_at
        batch = []
        for message in _imported_messages(room, entries):
            batch.append(message)
            if len(batch) >= batch_size:
                Message.objects.bulk_create(batch)
                batch = []
        if batch:
            Message.objects.bulk_create(batch)
    except BaseException:
        Room.objects.filter(pk=room.pk).delete()
        raise
    return room


def chat_stats(top=5):
    """Counts for operators: rooms, messages (all, last hour, last day), members online and the
    busiest rooms of the last day."""
    now = timezone.now()
    day_ago = now - timedelta(days=1)
    live = live_presences()
    busiest = (
        Message.objects.filter(created_at__gte=day_ago)
        .values("room__code", "room__title")
        .annotate(messages=Count("id"))
        .order_by("-messages", "room__code")[:top]
    )
    return {
        "rooms": Room.objects.count(),
        "messages": Message.objects.count(),
        "messages_last_hour": Message.objects.filter(created_at__gte=now - timedelta(hours=1)).count(),
        "messages_last_day": Message.objects.filter(created_at__gte=day_ago).count(),
        "members_online": live.values("room", "session_key").distinct().count(),
        "rooms_with_members": live.values("room").distinct().count(),
        "busiest_rooms": [
            {"code": row["room__code"], "title": row["room__title"], "messages_last_day": row["messages"]}
            for row in busiest
        ],
    }


# --- owner controls (issue 9): owner key, transfer, kick, mute, lock -------------------------

KICK_MINUTES = 10
MUTE_MAX_MINUTES = 24 * 60
OWNED_ROOMS_SESSION_KEY = "owned_rooms"  # session: {room code: owner key}


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


def owner_key_in_session(session, code):
    owned = session.get(OWNED_ROOMS_SESSION_KEY) if session is not None else None
    return owned.get(code) if isinstance(owned, dict) else None


def remember_owner_key(session, code, key):
    owned = dict(session.get(OWNED_ROOMS_SESSION_KEY) or {})
    owned[code] = key
    session[OWNED_ROOMS_SESSION_KEY] = owned


def check_owner(room, key):
    if not is_owner(room, key):
        raise ChatError("forbidden", "Only the room's owner can do that.")


def _present_sessions(room, name):
    """Session keys of the people present under this display name (names are not unique)."""
    if not isinstance(name, str) or not name.strip():
        raise ChatError("invalid_name", "Name the member.")
    keys = sorted(set(live_presences(room).filter(name=name.strip()).values_list("session_key", flat=True)))
    if not keys:
        raise ChatError("not_present", f"Nobody named {name.strip()[:32]} is in the room.")
    return keys


def transfer_ownership(room, key, to_name):
    """Hand the room to a present member: a new key goes into their session(s); the old key dies.
    Returns (new key, the receiving session keys)."""
    check_owner(room, key)
    targets = _present_sessions(room, to_name)
    new_key = new_owner_key(room)
    for session_key in targets:
        store = _session_store(session_key)
        if store is not None:
            remember_owner_key(store, room.code, new_key)
            store.save()
    return new_key, targets


def sanction_until(room, session_key, kind):
    """When the session's sanction of this kind ends, or None if none is in force."""
    return (
        room.sanctions.filter(session_key=session_key, kind=kind, until__gt=timezone.now())
        .order_by("-until")
        .values_list("until", flat=True)
        .first()
    )


def _sanction(room, key, name, kind, minutes):
    check_owner(room, key)
    targets = _present_sessions(room, name)
    until = timezone.now() + timedelta(minutes=minutes)
    from .models import RoomSanction

    RoomSanction.objects.bulk_create(
        [RoomSanction(room=room, session_key=session_key, kind=kind, until=until) for session_key in targets]
    )
    return targets, until


def kick_member(room, key, name):
    """Remove a present member; their session cannot rejoin for KICK_MINUTES. Returns session keys."""
    from .models import RoomSanction

    targets, _ = _sanction(room, key, name, RoomSanction.KICK, KICK_MINUTES)
    return targets


def check_mute_minutes(minutes):
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MUTE_MAX_MINUTES:
        raise ChatError("invalid_minutes", f"Mute for 1 to {MUTE_MAX_MINUTES} minutes.")
    return minutes


def mute_member(room, key, name, minutes):
    """Mute a present member for `minutes`. Returns (session keys, until)."""
    from .models import RoomSanction

    return _sanction(room, key, name, RoomSanction.MUTE, check_mute_minutes(minutes))


def set_locked(room, key, locked):
    """Lock or unlock the room. Locking admits the sessions present now for as long as it stays
    locked, so a member whose connection drops (or who refreshes) is not shut out."""
    check_owner(room, key)
    if not isinstance(locked, bool):
        raise ChatError("invalid_frame", "`locked` must be true or false.")
    admitted = sorted(set(live_presences(room).values_list("session_key", flat=True))) if locked else []
    Room.objects.filter(pk=room.pk).update(locked=locked, admitted_while_locked=admitted)
    room.locked = locked
    room.admitted_while_locked = admitted
    return locked


def check_may_join(room, session_key, owner_key=None):
    """Refuse a kicked session (until its kick ends) and, in a locked room, anyone who was not
    present when it was locked and is not present now; the owner may always join."""
    from .models import RoomSanction

    if is_owner(room, owner_key):
        return
    until = sanction_until(room, session_key, RoomSanction.KICK)
    if until is not None:
        wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
        raise ChatError("kicked", "The owner removed you from this room.", retry_after=wait)
    locked, admitted = Room.objects.filter(pk=room.pk).values_list("locked", "admitted_while_locked").first()
    if locked and session_key not in admitted and not live_presences(room).filter(session_key=session_key).exists():
        raise ChatError("locked", "This room is locked: no new members can join.")


# --- owner controls (issue 9): passphrase -----------------------------------------------------

PASSPHRASE_MAX_CHARS = 200
ADMITTED_ROOMS_SESSION_KEY = "admitted_rooms"  # session: codes whose passphrase it gave


def check_passphrase_text(passphrase):
    """A passphrase to set: "" (none) or up to PASSPHRASE_MAX_CHARS characters, kept as typed."""
    if not isinstance(passphrase, str):
        raise ChatError("invalid_passphrase", "The passphrase must be text.")
    if len(passphrase) > PASSPHRASE_MAX_CHARS or _has_forbidden_characters(passphrase, allow_newlines=False):
        raise ChatError("invalid_passphrase", f"Use up to {PASSPHRASE_MAX_CHARS} printable characters.")
    return passphrase


def _store_passphrase(room, passphrase):
    from django.contrib.auth.hashers import make_password

    room.passphrase_hash = make_password(passphrase) if passphrase else ""
    Room.objects.filter(pk=room.pk).update(passphrase_hash=room.passphrase_hash)


def set_passphrase(room, key, passphrase):
    """The owner sets (or, with "", removes) the passphrase; members already present stay."""
    check_owner(room, key)
    _store_passphrase(room, check_passphrase_text(passphrase))
    return bool(passphrase)


def needs_passphrase(room, session, owner_key=None):
    """Whether this session must still give the room's passphrase before joining."""
    passphrase_hash = Room.objects.filter(pk=room.pk).values_list("passphrase_hash", flat=True).first()
    if not passphrase_hash or is_owner(room, owner_key):
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
        raise ChatError("wrong_passphrase", "That passphrase is not right.")
    session[ADMITTED_ROOMS_SESSION_KEY] = [*(session.get(ADMITTED_ROOMS_SESSION_KEY) or []), room.code]


# --- owner controls (issue 9): expiry ---------------------------------------------------------

EXPIRY_MIN_HOURS = 1
EXPIRY_MAX_HOURS = 30 * 24


def set_expiry(room, key, hours):
    """The owner makes the room disappear `hours` from now (1 hour to 30 days); None cancels."""
    check_owner(room, key)
    if hours is None:
        expires_at = None
    elif isinstance(hours, bool) or not isinstance(hours, int) or not EXPIRY_MIN_HOURS <= hours <= EXPIRY_MAX_HOURS:
        raise ChatError("invalid_expiry", f"Choose {EXPIRY_MIN_HOURS} to {EXPIRY_MAX_HOURS} hours (30 days).")
    else:
        expires_at = timezone.now() + timedelta(hours=hours)
    Room.objects.filter(pk=room.pk).update(expires_at=expires_at)
    room.expires_at = expires_at
    return expires_at


def expired_rooms():
    return Room.objects.filter(expires_at__lte=timezone.now())


def expired_room_codes(codes):
    """Which of these rooms have reached their expiry time."""
    return list(expired_rooms().filter(code__in=codes).values_list("code", flat=True))


def purge_expired_rooms(batch_size=None):
    return purge_rooms(expired_rooms(), batch_size=batch_size)


# --- owner controls (issue 9): the read-only watch link ----------------------------------------

WATCH_LINKS_SESSION_KEY = "watch_links"  # session: {room code: watch token} the owner created


def set_watch_link(room, key, active):
    """The owner creates a watch link (replacing any earlier one, which stops working) or, with
    `active` false, revokes it. Returns the new token, or None when revoked; the consumer then
    disconnects the watchers of the old link."""
    check_owner(room, key)
    if not isinstance(active, bool):
        raise ChatError("invalid_frame", "`active` must be true or false.")
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


def remember_watch_token(session, code, token):
    links = dict(session.get(WATCH_LINKS_SESSION_KEY) or {})
    links[code] = token
    session[WATCH_LINKS_SESSION_KEY] = links


def watch_token_in_session(room, session):
    """The owner's own copy of the room's current watch token, if this session created it."""
    links = session.get(WATCH_LINKS_SESSION_KEY) if session is not None else None
    token = links.get(room.code) if isinstance(links, dict) else None
    return token if is_watch_token(room, token) else None


def add_watcher(room, server_id, channel_name):
    Watcher.objects.get_or_create(channel_name=channel_name, defaults={"room": room, "server_id": server_id})


def remove_watcher(channel_name):
    Watcher.objects.filter(channel_name=channel_name).delete()


def watcher_count(room):
    cutoff = timezone.now() - timedelta(seconds=settings.PRESENCE_STALE_SECONDS)
    return Watcher.objects.filter(room=room, server__heartbeat_at__gte=cutoff).count()


# --- rich messages: edit, delete, reactions (docs/protocol.md, "Edits, deletions, reactions") ----

EDIT_WINDOW = timedelta(minutes=15)
REACTION_EMOJI = ("👍", "❤️", "😂", "😮", "😢", "🎉")
CHANGES_PAGE_SIZE = 200


def author_key_of(session_key):
    """What a message stores of its author's session: a hash, so the table never holds a usable key."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


def author_tag(room_id, author_key):
    """What the wire shows of a message's author: the same opaque tag for every message of one
    session in one room, so a page can tell its own messages from a namesake's. Keyed per room
    and with the secret key, so it neither links a session across rooms nor reveals its key."""
    if not author_key:
        return None
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{room_id}:{author_key}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def rich_fields(message):
    """The edit/delete/reaction fields of a message frame. Reactions appear only when they were
    prefetched (history, changes): a message just posted has none, and async callers cannot query."""
    fields = {
        "edited": format_timestamp(message.edited_at) if message.edited_at else None,
        "deleted": message.deleted,
        "seq": message.change_seq,
    }
    if message.deleted:
        fields["body"] = ""
    cache_ = getattr(message, "_prefetched_objects_cache", {})
    if "reactions" in cache_ and not message.deleted:
        fields["reactions"] = summarize_reactions(cache_["reactions"], message.room_id)
    return fields


def summarize_reactions(reactions, room_id):
    """[{"emoji", "count", "names", "authors"}] in REACTION_EMOJI order, only emoji someone chose;
    `authors` are the reacting sessions' author tags, so a page knows which chips are its own."""
    chosen = {}
    for reaction in reactions:
        chosen.setdefault(reaction.emoji, []).append(reaction)
    return [
        {
            "emoji": emoji,
            "count": len(chosen[emoji]),
            "names": [reaction.name for reaction in chosen[emoji]],
            "authors": [author_tag(room_id, reaction.author_key) for reaction in chosen[emoji]],
        }
        for emoji in REACTION_EMOJI
        if emoji in chosen
    ]


def check_message_id(message_id):
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id < 1:
        raise ChatError("invalid_id", "`id` must be a positive message id.")
    return message_id


def _own_message(room, message_id, session_key):
    """The message to change, locked: it must be in this room, not deleted and this session's."""
    message = Message.objects.select_for_update().filter(room=room, id=check_message_id(message_id)).first()
    if message is None or message.deleted:
        raise ChatError("message_not_found", "That message does not exist (or was deleted).")
    if not session_key or message.author_key != author_key_of(session_key):
        raise ChatError("forbidden", "You can only change your own messages.")
    return message


def _record_change(message, kind, **updates):
    change = MessageChange.objects.create(room_id=message.room_id, message=message, kind=kind)
    updates["change_seq"] = change.id
    Message.objects.filter(pk=message.pk).update(**updates)
    return Message.objects.prefetch_related("reactions").get(pk=message.pk)


def edit_message(room, message_id, session_key, body):
    """The author replaces a message's body within EDIT_WINDOW of posting it. Returns the message."""
    body = check_body(body)
    with transaction.atomic():
        message = _own_message(room, message_id, session_key)
        if timezone.now() - message.created_at > EDIT_WINDOW:
            raise ChatError("edit_window_closed", "Messages can be edited for 15 minutes after sending.")
        return _record_change(message, "edit", body=body, edited_at=timezone.now())


def delete_message(room, message_id, session_key):
    """The author deletes a message at any time: its body and reactions are erased, a placeholder stays."""
    with transaction.atomic():
        message = _own_message(room, message_id, session_key)
        message.reactions.all().delete()
        return _record_change(message, "delete", body="", deleted=True)


def toggle_reaction(room, message_id, session_key, name, emoji):
    """Add this session's `emoji` reaction to a message, or remove it when present. Returns the message."""
    if emoji not in REACTION_EMOJI:
        raise ChatError("invalid_reaction", "Reactions are one of: " + " ".join(REACTION_EMOJI) + ".")
    key = author_key_of(session_key)
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(room=room, id=check_message_id(message_id)).first()
        if message is None or message.deleted:
            raise ChatError("message_not_found", "That message does not exist (or was deleted).")
        removed, _ = Reaction.objects.filter(message=message, author_key=key, emoji=emoji).delete()
        if not removed:
            Reaction.objects.create(message=message, author_key=key, name=name, emoji=emoji)
        return _record_change(message, "reaction")


def changes_after(room, after, seq, limit=CHANGES_PAGE_SIZE):
    """Messages up to id `after` changed since change `seq` (a resuming client already has the
    messages after `after` in their current state), in change order, a page at a time, and has_more."""
    page = list(
        Message.objects.filter(room=room, id__lte=after, change_seq__gt=seq)
        .order_by("change_seq")
        .prefetch_related("reactions")[: limit + 1]
    )
    return page[:limit], len(page) > limit
