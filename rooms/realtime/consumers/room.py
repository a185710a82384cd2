"""A member's connection to a room (`ws/rooms/<CODE>/`): its admission and its frame table."""

from django.db import DatabaseError
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
from rooms.services.moderation import sanction_until
from rooms.services.presence import add_presence, remove_presence
from rooms.services.sessions import owner_key_in_session, read_session

# Why an admission rule refused the connection, as its close code.
REFUSAL_CLOSE_CODES = {
    "kicked": CLOSE_KICKED,
    "passphrase_required": CLOSE_PASSPHRASE,
    "locked": CLOSE_LOCKED,
    "rate_limited": CLOSE_RATE_LIMITED,
}


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
        self.name, self.session_key = await side_db(read_session)(self.scope.get("session"))
        # Loaded just now (no query): the language picked on the page beats Accept-Language.
        self.language = session_language(self.scope.get("session")) or self.language
        if not self.name or not self.session_key:
            await self.refuse("no_name", _("Choose a display name on the room page first."), CLOSE_NO_NAME)
            return False
        try:
            self.room = await side_db(find_room_to_join)(self.code, self.client_ip(), self.scope.get("session"))
        except ChatError as error:
            await self.refuse(error.code, error.detail, CLOSE_RATE_LIMITED, **error.extra)
            return False
        if self.room is None:
            await self.refuse(
                "room_not_found",
                format_lazy(_("There is no room with code {code}."), code=self.code),
                CLOSE_ROOM_NOT_FOUND,
            )
            return False
        try:
            self.owner_key, self.muted_until = await side_db(self.load_standing)()
        except DatabaseError:
            await self.refuse_unavailable()
            return False
        except ChatError as error:
            await self.refuse(
                error.code, error.detail, REFUSAL_CLOSE_CODES.get(error.code, CLOSE_LOCKED), **error.extra
            )
            return False
        return True

    def load_standing(self):
        """This session's owner key and mute, after the room's admission rules (kick, lock,
        passphrase) let it in."""
        key = owner_key_in_session(self.scope.get("session"), self.room.code)
        check_may_join(self.room, self.session_key, key, self.client_ip(), self.scope.get("session"))
        if needs_passphrase(self.room, self.scope["session"], key):
            raise ChatError("passphrase_required", _("This room needs its passphrase: reload the page to enter it."))
        take_new_join(self.client_ip(), self.scope.get("session"), self.code)
        return key, sanction_until(self.room, self.session_key, "mute")

    def register(self):
        """Record this connection in the room (its presence); True when its session just arrived.
        Also called by the hub when this process must register its connections again."""
        return add_presence(
            self.room, self.hub.server_id, self.connection_id, self.name, self.session_key, self.client_ip()
        )

    def unregister(self):
        """This connection closed; whether its session left is settled after the grace period."""
        remove_presence(self.connection_id)
