"""Conversation frames of a member's connection: what a `message` frame's slash command and reply
make of it, and pins."""

from django.utils.translation import gettext_lazy as _

from rooms.protocol import command_done_frame, message_changed_event, pins_frame
from rooms.realtime.db_threads import main_db, side_db
from rooms.services.commands import Command, read_command
from rooms.services.encryption import check_sealed
from rooms.services.images import find_attachments
from rooms.services.messages import check_new_message
from rooms.services.pins import pinned_messages, set_pinned
from rooms.services.replies import find_reply_parent
from rooms.validation import check_client_id, check_rate


class ConversationFrames:
    """Slash commands and replies (called by `ChatFrames.receive_message`), and the owner's pins."""

    async def compose_message(self, frame):
        """The checked message a `message` frame asks to store, after its slash command and its
        reply; None when the command stores nothing (a rename, confirmed to the sender here)."""
        client_id = check_client_id(frame.get("client_id"))
        # An encrypted body's commands are the page's to read (docs/e2ee.md).
        sealed = check_sealed(self.room, frame)
        command = Command(body="") if sealed else read_command(frame.get("body"))
        if command.nick is not None:
            await self.rename_to(command.nick)
            self.push(command_done_frame("nick", client_id))
            return None
        parent = attachments = None
        if frame.get("reply_to") is not None:
            parent = await side_db(find_reply_parent)(self.room, frame["reply_to"])
        if frame.get("attachments") is not None:
            attachments = await side_db(find_attachments)(self.room, self.session_key, frame["attachments"], client_id)
        return check_new_message(
            self.room,
            self.name,
            command.body,
            client_id,
            self.session_key,
            parent,
            command.action,
            attachments or (),
            sealed or (),
        )

    async def receive_pin(self, frame):
        self.check_owner_rate()
        message = await main_db(set_pinned)(self.room, self.owner_key, frame.get("id"), frame.get("pinned"))
        if message is not None:
            await self.hub.publish(self.code, message_changed_event(message))

    async def receive_pins(self, frame):
        check_rate(self.history_bucket, _("You are asking for the pinned messages too fast; wait a moment."))
        self.push(pins_frame(await side_db(pinned_messages)(self.room)))
