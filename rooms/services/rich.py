"""Edits, deletions and reactions: each recorded as a MessageChange at its position in the room's log."""

from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import EDIT_WINDOW, REACTION_EMOJI
from rooms.models import Message, MessageChange, Reaction
from rooms.services.log import take_positions
from rooms.services.messages import author_key_of
from rooms.services.moderation import is_owner
from rooms.validation import check_body, check_message_id


def _own_message(room, message_id, session_key):
    """The message to change, locked: it must be in this room, not deleted and this session's."""
    message = Message.objects.select_for_update().filter(room=room, id=check_message_id(message_id)).first()
    if message is None or message.deleted:
        raise ChatError("message_not_found", _("That message does not exist (or was deleted)."))
    if not session_key or message.author_key != author_key_of(session_key):
        raise ChatError("forbidden", _("You can only change your own messages."))
    return message


def record_change(message, kind, **updates):
    """Record a change of `kind` at the next position of the log, apply `updates` to the message and
    return it as frames show it. Call inside the transaction that locked the message."""
    seq = take_positions(message.room_id, 1)
    if seq is None:
        raise ChatError("room_removed", _("This room was removed."))
    MessageChange.objects.create(room_id=message.room_id, message=message, kind=kind, seq=seq)
    updates["change_seq"] = seq
    Message.objects.filter(pk=message.pk).update(**updates)
    return Message.objects.for_wire().get(pk=message.pk)


def edit_message(room, message_id, session_key, body, sealed=()):
    """The author replaces a message's body within EDIT_WINDOW of posting it. Returns the message.
    In an encrypted room `sealed` is the new body's checked (ciphertext, iv) instead."""
    content = {"ciphertext": sealed[0], "iv": sealed[1]} if sealed else {"body": check_body(body)}
    with transaction.atomic():
        message = _own_message(room, message_id, session_key)
        if timezone.now() - message.created_at > EDIT_WINDOW:
            raise ChatError("edit_window_closed", _("Messages can be edited for 15 minutes after sending."))
        return record_change(message, "edit", **content, edited_at=timezone.now())


def delete_message(room, message_id, session_key, owner_key=None):
    """The author deletes a message at any time, and the room's owner any message (moderation): its
    body and reactions are erased, a placeholder saying who removed it stays."""
    with transaction.atomic():
        try:
            message, deleted_by = _own_message(room, message_id, session_key), "author"
        except ChatError as error:
            if error.code != "forbidden" or not is_owner(room, owner_key):
                raise
            message = Message.objects.select_for_update().get(room=room, id=message_id)
            deleted_by = "owner"
        message.reactions.all().delete()
        message.attachments.all().delete()  # their files go once this commits
        # A deleted message leaves the pinned bar too.
        erased = {"body": "", "ciphertext": "", "iv": ""}
        return record_change(message, "delete", **erased, deleted=True, deleted_by=deleted_by, pinned=False)


def toggle_reaction(room, message_id, session_key, name, emoji):
    """Add this session's `emoji` reaction to a message, or remove it when present. Returns the message."""
    if emoji not in REACTION_EMOJI:
        raise ChatError(
            "invalid_reaction", format_lazy(_("Reactions are one of: {emoji}."), emoji=" ".join(REACTION_EMOJI))
        )
    key = author_key_of(session_key)
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(room=room, id=check_message_id(message_id)).first()
        if message is None or message.deleted:
            raise ChatError("message_not_found", _("That message does not exist (or was deleted)."))
        removed, _by_model = Reaction.objects.filter(message=message, author_key=key, emoji=emoji).delete()
        if not removed:
            Reaction.objects.create(message=message, author_key=key, name=name, emoji=emoji)
        return record_change(message, "reaction")
