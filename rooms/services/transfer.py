"""Export and import of rooms: a streamed JSON (or text) history, read back incrementally."""

import json
import threading
from array import array
from bisect import bisect_left
from collections import Counter
from datetime import datetime

import ijson
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import CODE_ALPHABET, EXPORT_CHUNK_SIZE, IMPORT_BATCH_SIZE
from rooms.models import Attachment, Message, Room
from rooms.protocol import attachment_summary, encode, format_timestamp, reply_summary
from rooms.services.log import take_positions
from rooms.services.rooms import create_room
from rooms.services.transcripts import iter_text_transcript
from rooms.validation import check_body, check_client_id, check_name, check_title, normalize_code

_quote = json.encoder.encode_basestring  # a JSON string literal, as json.dumps(ensure_ascii=False) writes it

EXPORT_FORMAT = "roomchat-export"
EXPORT_VERSION = 1


def _room_header(room):
    header = {"code": room.code, "title": room.title, "created_at": format_timestamp(room.created_at)}
    if room.encrypted:  # its bodies are ciphertexts; the key is not the server's to export
        header.update(encrypted=True, key_check=room.key_check, key_check_iv=room.key_check_iv)
    return header


EXPORTED_FIELDS = ("name", "body", "created_at", "client_id", "id", "action", "edited_at", "bot", "ciphertext", "iv")
PARENT_FIELDS = ("reply_to_id", "reply_to__name", "reply_to__body", "reply_to__deleted", "reply_to__action")


def iter_room_messages(room, chunk_size=None):
    """A room's messages as (name, body, created_at, client_id, id, action, edited_at, bot, ciphertext, iv,
    reply_to, images) where
    reply_to is the parent's summary or None, oldest first, fetched in chunks so memory stays
    constant however long the history is."""
    rows = (
        Message.objects.filter(room=room, deleted=False)  # a deleted message's body is gone
        .order_by("id")
        .values_list(*EXPORTED_FIELDS, *PARENT_FIELDS)
        .iterator(chunk_size=chunk_size or EXPORT_CHUNK_SIZE)
    )
    images = _iter_sent_images(room, chunk_size)
    pending = next(images, None)
    for row in rows:
        fields, (parent_id, name, body, deleted, action) = row[: len(EXPORTED_FIELDS)], row[len(EXPORTED_FIELDS) :]
        parent = None
        if parent_id is not None:
            parent = reply_summary(Message(id=parent_id, name=name, body=body, deleted=deleted, action=action))
        # Both streams run by message id: each message takes the images up to its own id.
        urls = []
        while pending is not None and pending[0] <= fields[4]:
            if pending[0] == fields[4]:
                urls.append(pending[1])
            pending = next(images, None)
        yield (*fields, parent, urls)


def _iter_sent_images(room, chunk_size):
    """(message id, image path) of the room's sent images, by message id."""
    rows = (
        Attachment.objects.filter(room=room, message__isnull=False)
        .order_by("message_id", "id")
        .values_list("message_id", "id")
        .iterator(chunk_size=chunk_size or EXPORT_CHUNK_SIZE)
    )
    for message_id, attachment_id in rows:
        yield message_id, attachment_summary(Attachment(id=attachment_id, width=0, height=0))["url"]


class ExportedIds:
    """Message ids and their numbers in an export file, so a reply finds its parent's: messages come
    by ascending id, so two arrays of 8-byte numbers and a bisection do, and memory stays small
    however long the history is. An id out of order is not remembered: replies to it lose their link."""

    def __init__(self):
        self.ids = array("q")
        self.positions = array("q")

    def add(self, exported_id, position):
        if isinstance(exported_id, int) and not isinstance(exported_id, bool):
            if not self.ids or exported_id > self.ids[-1]:
                self.ids.append(exported_id)
                self.positions.append(position)

    def position_of(self, exported_id):
        index = bisect_left(self.ids, exported_id)
        return self.positions[index] if index < len(self.ids) and self.ids[index] == exported_id else None


def _iter_export_json(rooms):
    yield f'{{"format":"{EXPORT_FORMAT}","version":{EXPORT_VERSION},"rooms":['
    for index, room in enumerate(rooms):
        header = encode(_room_header(room))
        yield ("," if index else "") + "\n" + header[:-1] + ',"messages":['
        separator = "\n"
        # Messages are numbered 1, 2, 3 … in the file (not by database id, which an import cannot
        # keep), and a reply names its parent by that number; a deleted parent has none.
        numbers = ExportedIds()
        for number, row in enumerate(iter_room_messages(room), 1):
            name, body, created_at, client_id, message_id, action, _edited_at, bot, ciphertext, iv, parent, images = row
            numbers.add(message_id, number)
            if parent is not None:
                parent = _numbered_parent(parent, numbers)
            # Same text as encode() of the dict, built directly: this loop runs once per message.
            client = "null" if client_id is None else _quote(client_id)
            ts = format_timestamp(created_at)
            # The id lets a reply name its parent; an action and a reply appear only when present.
            extra = ',"action":true' if action else ""
            if bot:
                extra += ',"bot":true'
            if ciphertext:
                extra += f',"ciphertext":"{ciphertext}","iv":"{iv}"'  # checked base64: nothing to escape
            if parent is not None:
                extra += ',"reply_to":' + encode(parent)
            if images:
                extra += ',"attachments":' + encode([{"url": url} for url in images])
            yield (
                f'{separator}{{"id":{number},"name":{_quote(name)},"body":{_quote(body)},"ts":"{ts}",'
                f'"client_id":{client}{extra}}}'
            )
            separator = ",\n"
        yield "\n]}"
    yield "\n]}\n"


def _numbered_parent(parent, numbers):
    number = numbers.position_of(parent.pop("id"))
    return {"id": number, **parent} if number is not None and not parent.get("deleted") else parent


def export_rooms(rooms, fmt="json", chunk_chars=64 * 1024):
    """The full history of `rooms` as an iterator of text chunks of about `chunk_chars` characters:
    `json` (what import_room reads back) or `text` (for people). Streams: memory stays constant."""
    if fmt not in ("json", "text"):
        raise ChatError("invalid_format", _("Export format must be json or text."))
    pieces = _iter_export_json(rooms) if fmt == "json" else iter_text_transcript(rooms, iter_room_messages)
    buffer, size = [], 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= chunk_chars:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


_exports_running = Counter()  # session key → its exports being streamed by this process
_exports_lock = threading.Lock()  # HTTP views run on several threads


def take_export_slot(session_key):
    """Start one of a session's at most TRANSCRIPT_EXPORTS_PER_SESSION concurrent exports (in this
    process: each holds a database cursor and a connection's bandwidth). Returns the function that
    gives the slot back; raises ChatError("too_many_exports") when none is free."""
    with _exports_lock:
        if _exports_running[session_key] >= settings.TRANSCRIPT_EXPORTS_PER_SESSION:
            raise ChatError("too_many_exports", _("Your other downloads of transcripts must finish first."))
        _exports_running[session_key] += 1
    released = False

    def release():
        nonlocal released
        with _exports_lock:
            if not released:
                released = True
                _exports_running[session_key] -= 1
                if not _exports_running[session_key]:
                    del _exports_running[session_key]

    return release


def _parse_timestamp(value, where):
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ChatError(
            "invalid_export",
            format_lazy(_("{where}: {value!r} is not an ISO 8601 time."), where=where, value=str(value)[:40]),
        ) from None
    if timezone.is_naive(moment):
        raise ChatError(
            "invalid_export", format_lazy(_("{where}: time {value!r} has no time zone."), where=where, value=value)
        )
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
                raise ChatError(
                    "invalid_export",
                    format_lazy(_("Not a roomchat export (a JSON object with format {format})."), format=EXPORT_FORMAT),
                )
            if header.get("version") != EXPORT_VERSION:
                raise ChatError(
                    "invalid_export",
                    format_lazy(_("Unsupported export version {version!r}."), version=header.get("version")),
                )
            yield from _read_export_rooms(events)
            return
        elif depth == 1 and event in ("start_map", "start_array"):
            _build_value(events, event, value)  # some other field: skip it
        elif depth == 0:
            break
    raise ChatError(
        "invalid_export",
        format_lazy(_("Not a roomchat export (a JSON object with format {format})."), format=EXPORT_FORMAT),
    )


def _build_value(events, event, value):
    """The whole JSON value that starts with (event, value), read from `events`."""
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1 if event in ("start_map", "start_array") else 0
    while depth:
        _prefix, event, value = next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value


def _read_export_rooms(events):
    for _prefix, event, value in events:
        if event == "end_array":
            return
        if event != "start_map":
            raise ChatError("invalid_export", _("Each room must be a JSON object."))
        room, key, had_messages = {}, None, False
        for _prefix, event, value in events:
            if event == "end_map":
                break
            if event == "map_key":
                key = value
            elif key == "messages" and event == "start_array":
                had_messages = True
                messages = _read_export_messages(events)
                yield {**room, "messages": messages}
                for _message in messages:  # whatever the caller left unread
                    pass
            else:
                room[key] = _build_value(events, event, value)
        if not had_messages:
            yield {**room, "messages": iter(())}


def _read_export_messages(events):
    for _prefix, event, value in events:
        if event == "end_array":
            return
        yield _build_value(events, event, value)


def _exported_parent_id(entry):
    """The exported id of the message an exported reply answers ({"id": …} or a bare id), or None."""
    reply_to = entry.get("reply_to")
    parent_id = reply_to.get("id") if isinstance(reply_to, dict) else reply_to
    return parent_id if isinstance(parent_id, int) and not isinstance(parent_id, bool) else None


def _imported_messages(room, entries):
    """(Message, the log position of its parent in the new room or None) per exported entry. A reply
    whose parent is not in the file (it was deleted, so not exported) is imported without its link."""
    exported = ExportedIds()
    for number, entry in enumerate(entries, 1):
        where = f"message {number}"
        if not isinstance(entry, dict):
            raise ChatError("invalid_export", format_lazy(_("{where}: not an object."), where=where))
        try:
            name = check_name(entry.get("name"))
            body = check_body(entry.get("body"))
            client_id = check_client_id(entry.get("client_id"))
        except ChatError as error:
            raise ChatError("invalid_export", f"{where}: {error.detail}") from None
        created_at = _parse_timestamp(entry.get("ts"), where)
        action = entry.get("action") is True
        parent_id = _exported_parent_id(entry)
        parent_position = exported.position_of(parent_id) if parent_id is not None else None
        exported.add(entry.get("id"), number)  # the new room's log starts at 1, in file order
        message = Message(room=room, name=name, body=body, created_at=created_at, client_id=client_id, action=action)
        message.bot = entry.get("bot") is True
        yield message, parent_position


def _store_imported(room, batch):
    # Imported messages are the new room's log from position 1, in the export's order.
    with transaction.atomic():
        first = take_positions(room.pk, len(batch))
        for offset, (message, _) in enumerate(batch):
            message.seq = first + offset
        Message.objects.bulk_create([message for message, _parent in batch])
        replies = [(message, parent) for message, parent in batch if parent is not None]
        if replies:
            ids = dict(
                Message.objects.filter(room=room, seq__in=[p for _message, p in replies]).values_list("seq", "id")
            )
            for message, parent in replies:
                message.reply_to_id = ids.get(parent)
            Message.objects.bulk_update([message for message, _parent in replies], ["reply_to"])


def import_room(data, batch_size=None):
    """Recreate one exported room (a dict as export_rooms writes it, or from read_export, whose
    messages are a lazy iterator) with all its messages. It keeps
    its code when that is free, otherwise it gets a new one. Messages are inserted in batches, each
    its own transaction; if the data turns out bad midway the half-made room is removed again.
    Returns the new room."""
    batch_size = batch_size or IMPORT_BATCH_SIZE
    if not isinstance(data, dict):
        raise ChatError("invalid_export", _("A room must be a JSON object."))
    entries = data.get("messages", [])
    if isinstance(entries, dict | str) or not hasattr(entries, "__iter__"):
        raise ChatError("invalid_export", _("A room's messages must be a list."))
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
        for imported in _imported_messages(room, entries):
            batch.append(imported)
            if len(batch) >= batch_size:
                _store_imported(room, batch)
                batch = []
        if batch:
            _store_imported(room, batch)
    except BaseException:
        Room.objects.filter(pk=room.pk).delete()
        raise
    return room
