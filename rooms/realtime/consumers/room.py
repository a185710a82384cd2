"""A member's connection to a room (`ws/rooms/<CODE>/`): its admission and its frame table."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.language import session_language
from rooms.protocol import (
    CLOSE_KICKED,
    CLOSE_LOCKED,
    CLOSE_NO_NAME,
    CLOSE_PASSPHRASE,
    CLOSE_RATE_LIMITED,
    CLOSE_ROOM_NOT_FOUND,
)
from rooms.realtime.consumers.base import RoomConnection
from rooms.realtime.consumers.bots import BotFrames
from rooms.realtime.consumers.chat import ChatFrames
from rooms.realtime.consumers.conversation import ConversationFrames
from rooms.realtime.consumers.owner import OwnerFrames
from rooms.realtime.consumers.rich import RichFrames
from rooms.realtime.consumers.search import SearchFrames
from rooms.realtime.db_threads import side_db
from rooms.services.admission import check_may_join, find_room_to_join, needs_passphrase, take_new_join
from rooms.services.moderation import sanctions_in_force
from rooms.services.presence import add_presence, remove_presence
from rooms.services.sessions import owner_key_in_session, read_session

# Why an admission rule refused the connection, as its close code.
REFUSAL_CLOSE_CODES = {
    "kicked": CLOSE_KICKED,
    "passphrase_required": CLOSE_PASSPHRASE,
    "locked": CLOSE_LOCKED,
    "rate_limited": CLOSE_RATE_LIMITED,
}


class Refused(Exception):
    """This connection may not join: the error frame's code and detail, and the close code."""

    def __init__(self, code, detail, close_code, **extra):
        super().__init__(code)
        self.code, self.detail, self.close_code, self.extra = code, detail, close_code, extra


class RoomConsumer(ConversationFrames, ChatFrames, BotFrames, OwnerFrames, RichFrames, SearchFrames, RoomConnection):
    """A member: listed in the room, may send, and follows the owner's decisions."""

    frame_handlers = {
        "message": ({"body", "ciphertext", "iv", "client_id", "reply_to", "attachments"}, ChatFrames.receive_message),
        "ping": (set(), ChatFrames.receive_ping),
        "rename": ({"name"}, ChatFrames.receive_rename),
        "typing": (set(), ChatFrames.receive_typing),
        "history": ({"before", "around"}, ChatFrames.receive_history),
        "sync": ({"after_seq"}, ChatFrames.receive_sync),
        "edit": ({"id", "body", "ciphertext", "iv"}, RichFrames.receive_edit),
        "delete": ({"id"}, RichFrames.receive_delete),
        "react": ({"id", "emoji"}, RichFrames.receive_react),
        "pin": ({"id", "pinned"}, ConversationFrames.receive_pin),
        "pins": (set(), ConversationFrames.receive_pins),
        "search": ({"q", "before"}, SearchFrames.receive_search),
        "kick": ({"name"}, OwnerFrames.receive_kick),
        "mute": ({"name", "minutes"}, OwnerFrames.receive_mute),
        "lock": ({"locked"}, OwnerFrames.receive_lock),
        "transfer": ({"to"}, OwnerFrames.receive_transfer),
        "passphrase": ({"passphrase"}, OwnerFrames.receive_passphrase),
        "expiry": ({"hours"}, OwnerFrames.receive_expiry),
        "watch_link": ({"active"}, OwnerFrames.receive_watch_link),
        "unban": ({"id"}, OwnerFrames.receive_unban),
        "bot_token": ({"name"}, BotFrames.receive_bot_token),
        "bot_token_revoke": ({"name"}, BotFrames.receive_bot_token_revoke),
    }

    session_budgets = {
        **dict.fromkeys(("message", "rename", "edit", "react"), "send"),
        **dict.fromkeys(
            (
                "kick",
                "mute",
                "lock",
                "transfer",
                "passphrase",
                "expiry",
                "watch_link",
                "unban",
                "bot_token",
                "bot_token_revoke",
            ),
            "owner",
        ),
    }

    async def admit(self):
        """Find the room and check that this connection may join it: True, or False after refusing."""
        try:
            await side_db(self.read_admission)()
        except Refused as refusal:
            self.use_session_language()
            await self.refuse(refusal.code, refusal.detail, refusal.close_code, **refusal.extra)
            return False
        self.use_session_language()
        return True

    def use_session_language(self):
        # The session was loaded by the admission (no query): the language picked on the page
        # beats Accept-Language.
        self.language = session_language(self.scope.get("session")) or self.language

    def read_admission(self):
        """Who this is, the room, and this session's standing in it, in one trip to the database
        thread (a join storm makes thousands of these); raises Refused when it may not join."""
        self.name, self.session_key = read_session(self.scope.get("session"))
        if not self.name or not self.session_key:
            raise Refused("no_name", _("Choose a display name on the room page first."), CLOSE_NO_NAME)
        try:
            self.room = find_room_to_join(self.code, self.client_ip(), self.scope.get("session"))
        except ChatError as error:
            raise Refused(error.code, error.detail, CLOSE_RATE_LIMITED, **error.extra) from None
        if self.room is None:
            detail = format_lazy(_("There is no room with code {code}."), code=self.code)
            raise Refused("room_not_found", detail, CLOSE_ROOM_NOT_FOUND)
        try:
            self.owner_key, self.muted_until = self.load_standing()
        except ChatError as error:
            close_code = REFUSAL_CLOSE_CODES.get(error.code, CLOSE_LOCKED)
            raise Refused(error.code, error.detail, close_code, **error.extra) from None

    def load_standing(self):
        """This session's owner key and mute, after the room's admission rules (kick, lock,
        passphrase) let it in."""
        key = owner_key_in_session(self.scope.get("session"), self.room.code)
        sanctions = sanctions_in_force(self.room, self.session_key)
        check_may_join(self.room, self.session_key, key, self.client_ip(), self.scope.get("session"), sanctions)
        if needs_passphrase(self.room, self.scope["session"], key):
            raise ChatError("passphrase_required", _("This room needs its passphrase: reload the page to enter it."))
        take_new_join(self.client_ip(), self.scope.get("session"), self.code)
        return key, sanctions.get("mute")

    def register(self):
        """Record this connection in the room (its presence); True when its session just arrived.
        Also called by the hub when this process must register its connections again."""
        return add_presence(
            self.room, self.hub.server_id, self.connection_id, self.name, self.session_key, self.client_ip()
        )

    def unregister(self):
        """This connection closed; whether its session left is settled after the grace period."""
        remove_presence(self.connection_id)
