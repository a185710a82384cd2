"""Pins: the room's owner pins a few messages for everyone to see; each pin or unpin is a change of
the message, at its position in the room's log, like an edit."""

from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import PINS_MAX
from rooms.models import Message
from rooms.services.moderation import check_owner
from rooms.services.rich import record_change
from rooms.validation import check_message_id


def check_pinned_flag(pinned):
    if not isinstance(pinned, bool):
        raise ChatError("invalid_frame", _("`pinned` must be true or false."))
    return pinned


def set_pinned(room, owner_key, message_id, pinned):
    """The owner pins (or unpins) a message of the room. Returns the message in its new state, or
    None when it already was so (nothing changes, nothing is announced)."""
    pinned = check_pinned_flag(pinned)
    message_id = check_message_id(message_id)
    check_owner(room, owner_key)
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(room=room, id=message_id).first()
        if message is None or message.deleted:
            raise ChatError("message_not_found", _("That message does not exist (or was deleted)."))
        if message.pinned == pinned:
            return None
        if pinned and Message.objects.filter(room=room, pinned=True, deleted=False).count() >= PINS_MAX:
            raise ChatError(
                "too_many_pins",
                format_lazy(_("At most {limit} messages can be pinned; unpin one first."), limit=PINS_MAX),
            )
        return record_change(message, "pin" if pinned else "unpin", pinned=pinned)


def pinned_messages(room):
    """The room's pinned messages, oldest first (at most PINS_MAX)."""
    return list(Message.objects.for_wire().filter(room=room, pinned=True, deleted=False).order_by("id")[:PINS_MAX])
