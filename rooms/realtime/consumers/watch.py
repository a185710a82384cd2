"""A read-only connection through the room's watch link (`ws/rooms/<CODE>/watch/<TOKEN>/`)."""

from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.language import session_language
from rooms.protocol import CLOSE_RATE_LIMITED, CLOSE_WATCH_LINK, encode, with_expiry
from rooms.realtime.consumers.base import RoomConnection
from rooms.realtime.consumers.chat import ChatFrames
from rooms.realtime.consumers.conversation import ConversationFrames
from rooms.realtime.consumers.room import RoomConsumer
from rooms.realtime.consumers.search import SearchFrames
from rooms.realtime.db_threads import side_db
from rooms.services.presence import add_watcher, remove_watcher
from rooms.services.watch import find_watched_room


async def refuse_read_only(consumer, frame):
    raise ChatError("read_only", _("This is a read-only watch link: watchers cannot send or change anything."))


class WatchConsumer(SearchFrames, RoomConnection):
    """No name or session is needed. It gets the history and every live event a member gets, but it
    is not a member: it is counted (presence frames' `watchers`), never listed, and every frame
    that would change something is refused with `read_only`. Revoking or replacing the link
    closes it (4014)."""

    name = None
    session_key = None
    watch_hash = ""

    # Reading is allowed (ping, history pages); everything a member could change is refused.
    frame_handlers = {
        **{frame_type: (fields, refuse_read_only) for frame_type, (fields, _) in RoomConsumer.frame_handlers.items()},
        "ping": (set(), ChatFrames.receive_ping),
        "history": ({"before", "around"}, ChatFrames.receive_history),
        "pins": (set(), ConversationFrames.receive_pins),
        "search": ({"q", "before"}, SearchFrames.receive_search),
        "sync": ({"after_seq"}, ChatFrames.receive_sync),
    }

    async def admit(self):
        token = self.scope["url_route"]["kwargs"]["token"]
        # A watcher needs no session, but one that picked a language on the page reads errors in it.
        self.language = await side_db(session_language)(self.scope.get("session")) or self.language
        try:
            self.room = await side_db(find_watched_room)(self.code, token, self.client_ip())
        except ChatError as error:
            await self.refuse(error.code, error.detail, CLOSE_RATE_LIMITED, **error.extra)
            return False
        if self.room is None:
            await self.refuse("watch_link_invalid", _("This watch link is not valid (any more)."), CLOSE_WATCH_LINK)
            return False
        self.watch_hash = self.room.watch_token_hash
        return True

    def register(self):
        add_watcher(self.room, self.hub.server_id, self.connection_id)
        return False  # watchers arrive and leave without a notice

    def unregister(self):
        remove_watcher(self.connection_id)

    async def send_room_state(self):
        if self.joined and self.room.expires_at:
            self.push(with_expiry(encode({"type": "room_state"}), self.room.expires_at))

    # A watcher hears what members hear of the room, but has no standing of its own to follow.
    def room_expiry(self, event):
        self.push(event["notice"])
        self.push(event["text"])

    def room_kicked(self, event):
        pass

    def room_muted(self, event):
        pass

    def room_bans(self, event):
        pass

    def room_locked(self, event):
        self.room.locked = event["locked"]
        self.push(event["text"])

    def room_ownership(self, event):
        pass

    def chat_rename(self, event):
        self.chat_message(event)

    def chat_typing(self, event):
        self.chat_message(event)

    def room_watch_link(self, event):
        if event["watch_hash"] == self.watch_hash:
            return self.push(event["notice"])
        self.end("watch_revoked", _("The owner ended this watch link."), CLOSE_WATCH_LINK)
