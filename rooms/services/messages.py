"""Messages: checking a new one, storing it (the group commit's one path), and reading history.

The websocket path is: the consumer calls `check_new_message`, the hub's writer stores a batch
of them with `store_messages` and publishes them once committed. `post_message` is the same
store for one message, for callers outside the event loop (commands, tests).
"""

import functools
import hashlib
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chatsite.prepared_reads import PreparedRead
from rooms.errors import ChatError
from rooms.limits import CHANGES_PAGE_SIZE
from rooms.models import Attachment, Message
from rooms.services.bulk import insert_rows
from rooms.services.log import take_positions_of_rooms
from rooms.validation import check_before, check_body, check_client_id


class NewMessage(NamedTuple):
    """A checked message on its way to the database."""

    room: object
    name: str
    body: str
    client_id: str | None
    author_key: str
    reply_to: Message | None = None  # the checked parent (services/replies.py `find_reply_parent`)
    action: bool = False  # a "/me" message
    attachments: tuple = ()  # checked uploads (services/images.py `find_attachments`)
    bot: bool = False  # posted with a room bot token (services/bots.py)
    sealed: tuple = ()  # an encrypted room's (ciphertext, iv) (services/encryption.py `check_sealed`)


def check_new_message(
    room, name, body, client_id=None, session_key=None, reply_to=None, action=False, attachments=(), sealed=()
):
    """Check a message's body and client_id; `session_key`, when given, makes that session the
    author who may edit or delete it. `reply_to` is a parent already found in this room. `sealed`
    is an encrypted room's checked (ciphertext, iv), which stands in for the body and needs a
    client_id (the browsers bind each ciphertext to it)."""
    # An image may go without words; an encrypted body is not the server's to read.
    no_words = sealed or (attachments and isinstance(body, str) and not body.strip())
    client_id = check_client_id(client_id)
    if sealed and client_id is None:
        raise ChatError("invalid_client_id", _("An encrypted message needs its `client_id`."))
    return NewMessage(
        room,
        name,
        "" if no_words else check_body(body),
        client_id,
        author_key_of(session_key),
        reply_to,
        action,
        tuple(attachments),
        sealed=tuple(sealed),
    )


def post_message(room, name, body, client_id=None, session_key=None, reply_to=None, action=False):
    """Store one message. Returns `(message, created)`; a repeated client_id returns the stored one."""
    result = store_messages([check_new_message(room, name, body, client_id, session_key, reply_to, action)])[0]
    if isinstance(result, ChatError):
        raise result
    return result


def store_messages(entries):
    """Store checked `NewMessage` entries together (group commit): one transaction, one position
    range of each room's log and one multi-row INSERT for the lot. Returns `(message, created)`
    per entry, in order; a client_id stored before (or twice in `entries`) gives the stored
    message, not created, and an entry for a room removed meanwhile gives
    `ChatError("room_removed")` instead of a pair."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return _insert(entries, now)
    except IntegrityError:
        # A resend is in the batch: store one by one, each resend resolving to the stored message.
        # A failed insert rolls back its positions too, so the log keeps no hole.
        results = []
        for entry in entries:
            try:
                with transaction.atomic():
                    results.extend(_insert([entry], now))
            except IntegrityError:
                results.append(_stored_resend(entry))
        return results


def _insert(entries, now):
    results = [None] * len(entries)
    by_room = {}
    for index, entry in enumerate(entries):
        by_room.setdefault(entry.room.pk, []).append(index)
    firsts = take_positions_of_rooms({room_id: len(indexes) for room_id, indexes in by_room.items()})
    messages = []
    for room_id, indexes in by_room.items():
        first = firsts.get(room_id)
        for offset, index in enumerate(indexes):
            if first is None:  # purged while the message was on its way
                results[index] = ChatError("room_removed", _("This room was removed."))
                continue
            entry = entries[index]
            message = Message(
                room=entry.room,
                name=entry.name,
                body=entry.body,
                client_id=entry.client_id,
                created_at=now,
                author_key=entry.author_key,
                reply_to=entry.reply_to,
                action=entry.action,
                bot=entry.bot,
            )
            if entry.sealed:
                message.ciphertext, message.iv = entry.sealed
            message.seq = first + offset
            results[index] = (message, True)
            messages.append(message)
    insert_rows(messages)
    for index, entry in enumerate(entries):
        if entry.attachments and isinstance(results[index], tuple):
            _attach(results[index][0], entry.attachments)
    return results


def _attach(message, attachments):
    """Hand a message just stored its checked uploads; frames show them without a query."""
    Attachment.objects.filter(id__in=[each.id for each in attachments], message__isnull=True).update(message=message)
    for attachment in attachments:
        attachment.message = message
    message._prefetched_objects_cache = {"attachments": list(attachments)}


def _stored_resend(entry):
    stored = entry.client_id is not None and (
        Message.objects.select_related("reply_to")
        .prefetch_related("attachments")
        .filter(room=entry.room, client_id=entry.client_id)
        .first()
    )
    if stored:
        return stored, False
    return ChatError("room_removed", _("This room was removed."))


def recent_history(room, before=None, limit=None):
    """Up to `limit` messages before the id `before` (or the newest), oldest first, and has_more."""
    limit = limit or settings.HISTORY_LIMIT
    if before is None:
        page = newest_messages(limit + 1)(room_id=room.id)
    else:
        page = messages_before(limit + 1)(room_id=room.id, before=before)
    has_more = len(page) > limit
    return with_wire_relations(page[:limit][::-1]), has_more


# Every socket that opens reads the newest page: a prepared read (chatsite/prepared_reads.py) per
# page size, then what `for_wire` would have joined and prefetched, for the rows there are.
@functools.cache
def newest_messages(count):
    return PreparedRead(lambda room_id: Message.objects.filter(room_id=room_id).order_by("-id")[:count], room_id=int)


def count_newest_messages(room, at_most):
    """How many messages the room has, counting no further than `at_most` (one query)."""
    return len(newest_message_ids(at_most)(room_id=room.id))


@functools.cache
def newest_message_ids(count):
    return PreparedRead(
        lambda room_id: Message.objects.filter(room_id=room_id).order_by("-id").values_list("id", flat=True)[:count],
        room_id=int,
    )


@functools.cache
def messages_before(count):
    return PreparedRead(
        lambda room_id, before: Message.objects.filter(room_id=room_id, id__lt=before).order_by("-id")[:count],
        room_id=int,
        before=int,
    )


def with_wire_relations(messages):
    """`messages` with what `Message.objects.for_wire()` loads: the messages they reply to, their
    reactions and attachments."""
    parent_ids = {message.reply_to_id for message in messages if message.reply_to_id}
    if parent_ids:
        parents = Message.objects.in_bulk(parent_ids)
        for message in messages:
            if message.reply_to_id in parents:
                message.reply_to = parents[message.reply_to_id]
    prefetch_related_objects(messages, "reactions", "attachments")
    return messages


def messages_after(room, after, limit=None):
    """Messages with id greater than `after`, oldest first, at most `limit`, and has_more."""
    limit = limit or settings.HISTORY_LIMIT
    page = list(Message.objects.filter(room=room, id__gt=after).order_by("id").for_wire()[: limit + 1])
    return page[:limit], len(page) > limit


def history_before(room, before):
    """The page of messages before the id `before` (HISTORY_LIMIT of them), oldest first, and has_more."""
    return recent_history(room, before=check_before(before))


@functools.lru_cache(maxsize=4096)  # asked on every message, of the same few sessions
def author_key_of(session_key):
    """What a message stores of its author's session: a hash, so the table never holds a usable key."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


def changes_after(room, after, seq, limit=CHANGES_PAGE_SIZE):
    """Messages up to id `after` changed since change `seq` (a resuming client already has the
    messages after `after` in their current state), in change order, a page at a time, and has_more."""
    page = list(
        Message.objects.filter(room=room, id__lte=after, change_seq__gt=seq)
        .order_by("change_seq")
        .for_wire()[: limit + 1]
    )
    return page[:limit], len(page) > limit
