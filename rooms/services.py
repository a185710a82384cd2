"""Domain operations of roomchat: the one place that creates rooms, posts messages, reads history
and tracks presence. Views, the websocket consumer, the admin and management commands all call
these functions, so every rule lives here once.

`check_*` functions validate untrusted input and raise `ChatError` with a user-facing detail;
the other functions perform the change. All functions are synchronous ORM code: async callers
wrap them with `database_sync_to_async`.
"""

import secrets
import unicodedata
from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from .models import Message, Presence, Room, ServerProcess

# Upper-case letters and digits without look-alikes (0/O, 1/I) so codes survive being read aloud.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CLIENT_ID_MAX_CHARS = 64


class ChatError(Exception):
    """A request that breaks a rule; `code` is machine-readable, `detail` is shown to the user."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


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
    if not code:
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
    }


def post_message(room, name, body, client_id=None):
    """Store a message. Returns `(message, created)`; a repeated client_id returns the stored one."""
    return _store_one(room, name, check_body(body), check_client_id(client_id), timezone.now())


def _store_one(room, name, body, client_id, created_at):
    # Insert first: a resend is rare, so the common case costs one INSERT and no lookup.
    try:
        with transaction.atomic():
            message = Message.objects.create(
                room=room, name=name, body=body, client_id=client_id, created_at=created_at
            )
    except IntegrityError:
        if client_id is None:
            raise
        return Message.objects.get(room=room, client_id=client_id), False
    return message, True


def store_messages(entries):
    """Store already checked `(room, name, body, client_id)` entries together (group commit): one
    transaction and one multi-row INSERT for the lot. Returns `(message, created)` per entry, in
    order; a client_id stored before (or twice in `entries`) gives the stored message, not created."""
    now = timezone.now()
    messages = [
        Message(room=room, name=name, body=body, client_id=client_id, created_at=now)
        for room, name, body, client_id in entries
    ]
    try:
        with transaction.atomic():
            Message.objects.bulk_create(messages)
        return [(message, True) for message in messages]
    except IntegrityError:
        # A resend is in the batch: store one by one, each resend resolving to the stored message.
        return [_store_one(room, name, body, client_id, now) for room, name, body, client_id in entries]


def recent_history(room, before=None, limit=None):
    """Up to `limit` messages before the id `before` (or the newest), oldest first, and has_more."""
    limit = limit or settings.HISTORY_LIMIT
    messages = Message.objects.filter(room=room)
    if before is not None:
        messages = messages.filter(id__lt=before)
    page = list(messages.order_by("-id")[: limit + 1])
    has_more = len(page) > limit
    return page[:limit][::-1], has_more


def messages_after(room, after, limit=None):
    """Messages with id greater than `after`, oldest first, at most `limit`, and has_more."""
    limit = limit or settings.HISTORY_LIMIT
    page = list(Message.objects.filter(room=room, id__gt=after).order_by("id")[: limit + 1])
    return page[:limit], len(page) > limit


# --- presence -------------------------------------------------------------------------------


def beat_heart(server_id):
    """Mark a server process alive; its presence rows count while its heartbeat is fresh."""
    ServerProcess.objects.update_or_create(id=server_id, defaults={"heartbeat_at": timezone.now()})


def live_presences(room=None):
    cutoff = timezone.now() - timedelta(seconds=settings.PRESENCE_STALE_SECONDS)
    presences = Presence.objects.filter(server__heartbeat_at__gte=cutoff)
    return presences.filter(room=room) if room is not None else presences


def add_presence(room, server_id, channel_name, name, session_key):
    """Record a connection. Returns True when it is this session's first connection in the room."""
    with transaction.atomic():
        first = not live_presences(room).filter(session_key=session_key).exists()
        Presence.objects.create(
            room=room, server_id=server_id, channel_name=channel_name, name=name, session_key=session_key
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


def expire_stale_servers():
    """Delete processes that stopped beating, with their presence. Returns the affected rooms' codes
    and, per room, the names that left."""
    cutoff = timezone.now() - timedelta(seconds=settings.PRESENCE_STALE_SECONDS)
    with transaction.atomic():
        stale = Presence.objects.filter(server__heartbeat_at__lt=cutoff).select_related("room")
        departed = {}
        for presence in stale:
            departed.setdefault(presence.room.code, set()).add(presence.name)
        ServerProcess.objects.filter(heartbeat_at__lt=cutoff).delete()
    return departed


def rooms_with_stats():
    """Rooms annotated with message count and last activity, for operators."""
    return Room.objects.annotate(message_count=Count("messages"), last_activity=Max("messages__created_at"))
