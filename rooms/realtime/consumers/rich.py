"""Rich-message frames: edits, deletions and reactions, and their replay on resume."""

from rooms.protocol import message_changed_event
from rooms.realtime.db_threads import main_db
from rooms.services.encryption import check_sealed
from rooms.services.moderation import check_not_muted
from rooms.services.rich import delete_message, edit_message, toggle_reaction
from rooms.validation import check_rate


class RichFrames:
    """Handlers of `edit`, `delete` and `react`; each change is published as `message_changed`.
    A muted member may still delete (take back) its own messages, not edit or react."""

    muted_until = None

    async def receive_edit(self, frame):
        check_not_muted(self.muted_until)
        check_rate(self.bucket)
        sealed = check_sealed(self.room, frame) or ()
        message = await main_db(edit_message)(self.room, frame.get("id"), self.session_key, frame.get("body"), sealed)
        await self.hub.publish(self.code, message_changed_event(message))

    async def receive_delete(self, frame):
        message = await main_db(delete_message)(self.room, frame.get("id"), self.session_key, self.owner_key)
        await self.hub.publish(self.code, message_changed_event(message))

    async def receive_react(self, frame):
        check_not_muted(self.muted_until)
        check_rate(self.bucket)
        message = await main_db(toggle_reaction)(
            self.room, frame.get("id"), self.session_key, self.name, frame.get("emoji")
        )
        await self.hub.publish(self.code, message_changed_event(message))
