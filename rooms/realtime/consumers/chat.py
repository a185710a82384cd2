"""Chat frames of a member's connection: messages, ping, rename, typing, earlier history."""

import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.protocol import (
    encode,
    history_frame,
    log_event,
    member_renamed_event,
    presence_event,
    synced_frame,
    typing_event,
)
from rooms.realtime.db_threads import main_db, side_db
from rooms.services.log import events_between, last_positions
from rooms.services.messages import check_new_message, history_before
from rooms.services.moderation import check_not_muted
from rooms.services.presence import rename_member
from rooms.validation import check_log_position, check_rate


class ChatFrames:
    """Handlers of the chat frames, and of the hub events they cause."""

    typing_sent_at = float("-inf")
    muted_until = None

    async def receive_message(self, frame):
        check_not_muted(self.muted_until)
        check_rate(self.bucket, _("You are sending messages too fast; slow down."))
        entry = await self.compose_message(frame)
        if entry is None:
            return  # a command that stores no message (/nick), already answered
        # The hub's writer stores it (group commit) and publishes it once committed, in its own task:
        # if the server drops this connection mid-store (daphne cancels a consumer that outlives its
        # client), a committed message is still broadcast, not left as a gap no resume can repair.
        message, created, event = await self.hub.writer.post(self.code, entry)
        self.typing_sent_at = float("-inf")  # typing after a sent message is news again
        if not created:
            self.push(event["text"])  # a resend: confirm it to the sender only

    async def receive_ping(self, frame):
        self.push(encode({"type": "pong"}))

    async def compose_message(self, frame):
        """The checked message a `message` frame asks to store (ConversationFrames adds commands and replies)."""
        return check_new_message(self.room, self.name, frame.get("body"), frame.get("client_id"), self.session_key)

    async def receive_rename(self, frame):
        check_not_muted(self.muted_until)
        check_rate(self.bucket)
        await self.rename_to(frame.get("name"))

    async def rename_to(self, name):
        old, new, rooms = await main_db(rename_member)(self.session_key, name)
        self.name = new
        for code, presence in rooms.items():
            await self.hub.publish(code, member_renamed_event(self.session_key, old, new))
            await self.hub.publish(code, presence_event(*presence))

    async def receive_typing(self, frame):
        # Throttled per connection; extra frames, and a muted member's, are dropped silently (typing
        # is only a hint).
        try:
            check_not_muted(self.muted_until)
        except ChatError:
            return
        now = time.monotonic()
        if now - self.typing_sent_at < settings.TYPING_THROTTLE_SECONDS:
            return
        self.typing_sent_at = now
        await self.hub.publish(self.code, typing_event(self.session_key, self.name))

    async def receive_history(self, frame):
        if "around" in frame:
            return await self.receive_history_around(frame)  # SearchFrames
        check_rate(
            self.history_bucket,
            _("You are loading earlier messages too fast; wait a moment."),
            before=frame.get("before"),
        )
        messages, has_more = await side_db(history_before)(self.room, frame.get("before"))
        self.push(history_frame(messages, has_more, before=frame["before"]))

    async def receive_sync(self, frame):
        """The client saw a hole in the log positions of its live frames: send it the events after
        `after_seq` (a page at a time), then `synced` with the last position sent."""
        after = check_log_position(frame.get("after_seq"))
        check_rate(self.history_bucket, _("You are asking for missed events too fast; wait a moment."), after_seq=after)
        head = (await side_db(last_positions)([self.code])).get(self.code, 0)
        events = await side_db(events_between)(self.code, after, head) if head > after else []
        for seq, kind, message in events:
            self.push(log_event(seq, kind, message)["text"])
        last = events[-1][0] if events else after
        self.push(synced_frame(after, last, complete=last >= head))

    def chat_rename(self, event):
        if event["session_key"] == self.session_key:
            # This person renamed (maybe in another tab): later messages carry the new name.
            self.name = event["name"]
            event = {**event, "text": event["own_text"]}
        self.chat_message(event)

    def chat_typing(self, event):
        if event["session_key"] != self.session_key:
            self.chat_message(event)
