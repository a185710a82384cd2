"""Replies: a message may answer an earlier message of the same room (its parent)."""

from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.models import Message
from rooms.validation import check_message_id


def find_reply_parent(room, reply_to):
    """The message `reply_to` names, in this room and not deleted, or None when there is none to
    find; another room's id, a missing one or a deleted one is `message_not_found`."""
    if reply_to is None:
        return None
    try:
        parent_id = check_message_id(reply_to)
    except ChatError:
        raise ChatError("invalid_reply_to", _("`reply_to` must be a positive message id.")) from None
    parent = Message.objects.filter(room=room, id=parent_id).first()
    if parent is None or parent.deleted:
        raise ChatError("message_not_found", _("The message you are replying to does not exist (or was deleted)."))
    return parent
