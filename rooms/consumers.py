"""The websocket side of a room: parse a frame, call a service, send the result.

The shape is the Channels tutorial's (connect → join the room's group → accept; handlers named
after event types), but the group is the process's `RoomHub`, which fans each event out once per
process instead of once per member.
"""

import asyncio
import collections
import json
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.urls import reverse

from . import events, services
from .delivery import get_hub, side_db
from .services import ChatError

# Close codes (4000-4999 are the application's): why a connection was refused or ended.
CLOSE_NO_NAME = 4001
CLOSE_FORBIDDEN_ORIGIN = 4003
CLOSE_ROOM_NOT_FOUND = 4004
CLOSE_TOO_SLOW = 4008
CLOSE_ROOM_REMOVED = 4010
CLOSE_KICKED = 4011  # removed by the room's owner, or trying to rejoin too soon after
CLOSE_LOCKED = 4023  # the owner locked the room against new members
CLOSE_ROOM_EXPIRED = 4012  # the room reached the expiry time its owner set
CLOSE_PASSPHRASE = 4013  # the room has a passphrase this session has not given
CLOSE_WATCH_LINK = 4014  # the watch link is wrong, or its owner revoked or replaced it
CLOSE_RATE_LIMITED = 4029  # too many unknown room codes tried from this IP
CLOSE_UNAVAILABLE = 1013  # the standard "try again later": the database did not answer

# Ids are 64-bit: a larger `?after` asks for nothing newer (and must not overflow the query).
MAX_MESSAGE_ID = 2**63 - 1
# How long after joining a live copy of a message already sent in the history is still dropped.
HISTORY_DEDUPE_SECONDS = 30
# "Load earlier" pages per connection: plenty for reading back, not a way to keep the database busy.
HISTORY_PAGES_PER_SECOND = 2
HISTORY_PAGES_BURST = 10

# The main database thread, shared with the message writer: calls whose events must be published
# in commit order. Reads and presence use `side_db` (rooms/delivery.py).
db = database_sync_to_async


class TokenBucket:
    """Allows `rate` events a second on average and `burst` at once."""

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def wait(self):
        """Seconds until the next event is allowed, rounded up to milliseconds."""
        return max(0.0, round((1 - self.tokens) / self.rate + 0.0005, 3)) if self.rate > 0 else None


class Outbox:
    """A bounded FIFO of encoded frames for one client, emptied whole by its writer."""

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.frames = collections.deque()
        self.waiter = None

    def put_nowait(self, text):
        if len(self.frames) >= self.maxsize:
            raise asyncio.QueueFull
        self.frames.append(text)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self):
        return not self.frames

    async def take_all(self):
        while not self.frames:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        frames, self.frames = self.frames, collections.deque()
        return frames


def read_session(session):
    """The display name and session key, or Nones (loading a session queries the database)."""
    if session is None:
        return None, None
    return session.get("name"), session.session_key


class RoomConsumer(AsyncWebsocketConsumer):
    # No channel per connection: the process's RoomHub is the room's group member.
    channel_layer_alias = None

    room = None
    joined = False
    writer = None
    sent_in_history = frozenset()  # ids the history frames carried, while a live copy may follow

    # --- connection lifecycle -----------------------------------------------------------------

    async def connect(self):
        self.code = services.normalize_code(self.scope["url_route"]["kwargs"]["code"])
        self.connection_id = uuid.uuid4().hex
        # Accept first so a refusal can say why in an error frame before the close code.
        await self.accept()
        if self.scope.get("origin_refused"):
            return await self.refuse(
                "forbidden_origin", "Connections from this origin are not allowed.", CLOSE_FORBIDDEN_ORIGIN
            )
        try:
            if not await self.admit():
                return
            await self.join_room()
        except DatabaseError:
            # `disconnect` undoes whatever part of the join happened.
            return await self.refuse_unavailable()
        await self.send_room_state()

    async def admit(self):
        """Find the room and check that this connection may join it: True, or False after refusing."""
        self.name, self.session_key = await side_db(read_session)(self.scope.get("session"))
        if not self.name or not self.session_key:
            await self.refuse("no_name", "Choose a display name on the room page first.", CLOSE_NO_NAME)
            return False
        try:
            self.room = await side_db(services.find_room_to_join)(self.code, self.client_ip())
        except ChatError as error:
            await self.refuse(error.code, error.detail, CLOSE_RATE_LIMITED, **error.extra)
            return False
        if self.room is None:
            await self.refuse("room_not_found", f"There is no room with code {self.code}.", CLOSE_ROOM_NOT_FOUND)
            return False
        return await self.passes_owner_rules()

    def client_ip(self):
        forwarded_for = None
        for header_name, header_value in self.scope.get("headers", []):
            if header_name == b"x-forwarded-for":
                forwarded_for = header_value.decode("latin1")
        client = self.scope.get("client")
        return services.client_ip(client[0] if client else None, forwarded_for)

    async def refuse_unavailable(self):
        await self.refuse(
            "unavailable", "The server cannot reach its database right now; reconnecting later.", CLOSE_UNAVAILABLE
        )

    async def join_room(self):
        self.bucket = TokenBucket(settings.MESSAGE_RATE_PER_SECOND, settings.MESSAGE_RATE_BURST)
        self.history_bucket = TokenBucket(HISTORY_PAGES_PER_SECOND, HISTORY_PAGES_BURST)
        self.outbox = Outbox(settings.OUTBOUND_QUEUE_MAX)
        self.pending = []  # live events that arrive while history is being sent
        self.writer = asyncio.ensure_future(self.write_outbox())
        self.hub = get_hub()
        await self.hub.start()
        # Join before reading history so nothing stored in between is missed; `pending` holds it.
        await self.hub.join(self.code, self)
        self.joined = True
        first = await side_db(self.register, key=self.presence_key)()
        self.sent_in_history = await self.send_history()
        await self.replay_changes()
        for event in self.pending:
            self.push_unless_in_history(event)
        self.pending = None
        # Another process's copy of a message already in the history can still be on its way
        # through the channel layer; after a while, nothing that old can arrive any more.
        asyncio.get_running_loop().call_later(HISTORY_DEDUPE_SECONDS, self.forget_history_ids)
        if first:
            await self.hub.publish(self.code, events.join_event(self.name))
        await self.publish_presence()

    def register(self):
        """Record this connection in the room (its presence); True when its session just arrived.
        Also called by the hub when this process must register its connections again."""
        return services.add_presence(self.room, self.hub.server_id, self.connection_id, self.name, self.session_key)

    def unregister(self):
        """Forget this connection; True when it was its session's last one in the room."""
        return services.remove_presence(self.connection_id)

    def push_unless_in_history(self, event):
        # By id, not by "id <= last in history": on PostgreSQL a message from another process can
        # commit after a later id did, so a smaller id may be new to this client.
        if event.get("id") not in self.sent_in_history:
            self.push(event["text"])

    def forget_history_ids(self):
        self.sent_in_history = frozenset()

    async def send_history(self):
        """Send the history frame(s) and return the set of message ids sent.

        With `?after=ID` (a reconnecting client) every message after ID is sent, in pages;
        otherwise the last HISTORY_LIMIT messages.
        """
        after = self.resume_after()
        if after is None:
            messages, has_more = await side_db(services.recent_history)(self.room)
            self.push(events.history_frame(messages, has_more))
            return {message.id for message in messages}
        sent = set()
        last_id = after
        while True:
            messages, more_after = await side_db(services.messages_after)(self.room, last_id)
            if messages:
                last_id = messages[-1].id
                sent.update(message.id for message in messages)
            self.push(events.history_frame(messages, False, after=after, complete=not more_after))
            if not more_after:
                return sent

    def resume_after(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        try:
            after = int(query["after"][0])
        except (KeyError, ValueError, IndexError):
            return None
        return min(after, MAX_MESSAGE_ID) if after >= 0 else None

    async def refuse(self, code, detail, close_code, **extra):
        await self.send(text_data=events.error_frame(code, detail, **extra))
        await self.close(code=close_code)

    async def disconnect(self, code):
        if self.writer is not None:
            self.writer.cancel()
        if not self.joined:
            return
        self.joined = False
        await self.hub.leave(self.code, self)
        try:
            last = await side_db(self.unregister, key=self.presence_key)()
            if last:
                await self.hub.publish(self.code, events.leave_event(self.name))
            await self.publish_presence()
        except DatabaseError:
            pass  # the heartbeat expires this presence if the database is back later

    @property
    def presence_key(self):
        # One side thread per session: its arrivals and departures stay in order (a watcher has no
        # session; its connection is its own key).
        return self.session_key or self.connection_id

    async def publish_presence(self):
        await self.hub.publish_members(self.code, self.room)

    # --- outbound: a bounded queue per connection ---------------------------------------------

    def push(self, text):
        """Queue a frame for this client. A client too slow to keep up is disconnected (it can
        resume by id) rather than letting its queue grow without bound."""
        if self.outbox is None:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.outbox = None
            asyncio.ensure_future(self.close(code=CLOSE_TOO_SLOW))

    async def write_outbox(self):
        outbox = self.outbox
        send = self.base_send
        # Channels' session wrapper acts only on HTTP responses; skip its per-frame checks.
        send = getattr(getattr(send, "__self__", None), "real_send", send)
        while True:
            # Everything queued since the last wake-up goes out together: one wake-up per burst.
            for text in await outbox.take_all():
                await send({"type": "websocket.send", "text": text})

    async def send_error(self, code, detail, **extra):
        self.push(events.error_frame(code, detail, **extra))

    # --- hub event handlers: named after the event type, like the Channels tutorial ------------

    def chat_message(self, event):
        if self.pending is not None:
            self.pending.append(event)
        elif self.sent_in_history:
            self.push_unless_in_history(event)
        else:
            self.push(event["text"])

    chat_system = chat_message
    chat_presence = chat_message

    def room_removed(self, event):
        self.end("room_removed", "This room was removed by an operator.", CLOSE_ROOM_REMOVED)

    ending = False

    def end(self, code, detail, close_code):
        """Tell the client why, then close once its queued frames are out. Only the first reason
        counts: the same end can be announced twice (the purge's event and the heartbeat's check)."""
        if self.ending:
            return
        self.ending = True
        self.push(events.error_frame(code, detail))
        asyncio.ensure_future(self.close_after_outbox(close_code))

    async def close_after_outbox(self, close_code):
        while self.outbox is not None and not self.outbox.empty():
            await asyncio.sleep(0.01)
        await self.close(code=close_code)

    # --- inbound frames -----------------------------------------------------------------------

    async def dispatch(self, message):
        # Channels closes stale database connections around every frame (a thread hop per frame);
        # database_sync_to_async already does that around each query, so skip it on the hot path.
        handler = getattr(self, "websocket_" + message["type"].removeprefix("websocket."), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data=None, bytes_data=None):
        if not self.joined:
            return
        if text_data is None:
            return await self.send_error("binary_not_supported", "Frames must be JSON text, not binary.")
        if (
            len(text_data) > settings.WS_FRAME_MAX_BYTES
            or len(text_data.encode("utf-8", "surrogatepass")) > settings.WS_FRAME_MAX_BYTES
        ):
            return await self.send_error(
                "frame_too_large", f"Frames can be at most {settings.WS_FRAME_MAX_BYTES} bytes."
            )
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            return await self.send_error("invalid_json", "Frames must be JSON objects.")
        if not isinstance(frame, dict):
            return await self.send_error("invalid_frame", "Frames must be JSON objects with a type.")
        frame_type = frame.get("type")
        # A list or object as `type` is unhashable: look up strings only.
        handler = self.frame_handlers.get(frame_type) if isinstance(frame_type, str) else None
        if handler is None:
            return await self.send_error("unknown_type", f"Unknown frame type: {str(frame.get('type'))[:40]!r}.")
        fields, handle = handler
        unexpected = set(frame) - fields - {"type"}
        if unexpected:
            names = ", ".join(sorted(unexpected))[:100]
            # Field names are the client's text: no lone surrogates in our frame (they cannot be sent).
            names = names.encode("utf-8", "backslashreplace").decode("utf-8")
            return await self.send_error("invalid_frame", f"Unexpected field(s): {names}.")
        # An error about a message names its client_id, so the client knows which one to retry.
        about = {"client_id": frame["client_id"]} if isinstance(frame.get("client_id"), str) else {}
        try:
            await handle(self, frame)
        except ChatError as error:
            await self.send_error(error.code, error.detail, **error.extra, **about)
        except DatabaseError:
            await self.send_error("unavailable", "The server could not store that right now; please retry.", **about)

    async def receive_message(self, frame):
        if not self.bucket.take():
            raise ChatError(
                "rate_limited", "You are sending messages too fast; slow down.", retry_after=self.bucket.wait()
            )
        body = services.check_body(frame.get("body"))
        client_id = services.check_client_id(frame.get("client_id"))
        # The hub's writer stores it (group commit) and publishes it once committed, in its own task:
        # if the server drops this connection mid-store (daphne cancels a consumer that outlives its
        # client), a committed message is still broadcast, not left as a gap no resume can repair.
        message, created, event = await self.hub.post_message(
            self.code, self.room, self.name, body, client_id, session_key=self.session_key
        )
        self.typing_sent_at = float("-inf")  # typing after a sent message is news again
        if not created:
            self.push(event["text"])  # a resend: confirm it to the sender only

    async def receive_ping(self, frame):
        self.push(events.encode({"type": "pong"}))

    frame_handlers = {
        "message": ({"body", "client_id"}, receive_message),
        "ping": (set(), receive_ping),
    }

    # --- room experience: rename, typing, history paging --------------------------------------

    typing_sent_at = float("-inf")

    def chat_rename(self, event):
        if event["session_key"] == self.session_key:
            # This person renamed (maybe in another tab): later messages carry the new name.
            self.name = event["name"]
            event = {**event, "text": event["own_text"]}
        self.chat_message(event)

    def chat_typing(self, event):
        if event["session_key"] != self.session_key:
            self.chat_message(event)

    async def receive_rename(self, frame):
        if not self.bucket.take():
            raise ChatError("rate_limited", "You are sending too fast; slow down.")
        old, new, rooms = await db(services.rename_member)(self.session_key, frame.get("name"))
        self.name = new
        for code, presence in rooms.items():
            await self.hub.publish(code, events.member_renamed_event(self.session_key, old, new))
            await self.hub.publish(code, events.presence_event(*presence))

    async def receive_typing(self, frame):
        # Throttled per connection; extra frames are dropped silently (typing is only a hint).
        now = time.monotonic()
        if now - self.typing_sent_at < settings.TYPING_THROTTLE_SECONDS:
            return
        self.typing_sent_at = now
        await self.hub.publish(self.code, events.typing_event(self.session_key, self.name))

    async def receive_history(self, frame):
        if not self.history_bucket.take():
            raise ChatError(
                "rate_limited",
                "You are loading earlier messages too fast; wait a moment.",
                retry_after=self.history_bucket.wait(),
                before=frame.get("before"),
            )
        messages, has_more = await side_db(services.history_before)(self.room, frame.get("before"))
        self.push(events.history_frame(messages, has_more, before=frame["before"]))

    frame_handlers = {
        **frame_handlers,
        "rename": ({"name"}, receive_rename),
        "typing": (set(), receive_typing),
        "history": ({"before"}, receive_history),
    }

    # --- owner controls (issue 9): ownership, kick, mute, lock --------------------------------

    owner_key = None
    muted_until = None

    async def passes_owner_rules(self):
        """Load this session's owner key and sanctions; refuse a kicked session or a newcomer to a
        locked room (after an error frame saying why). True when the connection may join."""
        try:
            self.owner_key, self.muted_until = await side_db(self.load_owner_state)()
        except DatabaseError:
            await self.refuse_unavailable()
            return False
        except ChatError as error:
            close_code = {"kicked": CLOSE_KICKED, "passphrase_required": CLOSE_PASSPHRASE}.get(error.code, CLOSE_LOCKED)
            await self.refuse(error.code, error.detail, close_code, **error.extra)
            return False
        return True

    def load_owner_state(self):
        key = services.owner_key_in_session(self.scope.get("session"), self.room.code)
        services.check_may_join(self.room, self.session_key, key)
        if services.needs_passphrase(self.room, self.scope["session"], key):
            raise ChatError("passphrase_required", "This room needs its passphrase: reload the page to enter it.")
        muted_until = services.sanction_until(self.room, self.session_key, "mute")
        return key, muted_until

    async def send_room_state(self):
        """Tell this connection what is not the default: that it owns the room, the room is locked,
        or it is muted. Rooms without an owner's action send nothing extra."""
        if not self.joined:
            return
        owner = await side_db(services.is_owner)(self.room, self.owner_key)
        locked = self.room.locked
        if owner or locked or self.muted_until or self.room.expires_at:
            frame = events.room_state_frame(owner=owner, locked=locked, muted_until=self.muted_until)
            self.push(events.with_expiry(frame, self.room.expires_at))
        if owner and self.room.watch_token_hash:
            # Owners see the live watch link (to share or revoke it); its token is known to the
            # session that made it, so other owner sessions learn only that there is one.
            token = await side_db(services.watch_token_in_session)(self.room, self.scope.get("session"))
            self.push(events.watch_link_state(self.watch_path(token) if token else None, active=True))

    async def receive_message_unless_muted(self, frame):
        if self.muted_until is not None:
            if self.muted_until > services.timezone.now():
                raise ChatError(
                    "muted", "The owner muted you; you can read but not send.", until=events.iso(self.muted_until)
                )
            self.muted_until = None
        await self.receive_message(frame)

    async def receive_kick(self, frame):
        targets = await db(services.kick_member)(self.room, self.owner_key, frame.get("name"))
        await self.hub.publish(self.code, events.moderation_event("kick", frame["name"].strip(), by=self.name))
        await self.hub.publish(self.code, events.kicked_event(targets))

    async def receive_mute(self, frame):
        targets, until = await db(services.mute_member)(
            self.room, self.owner_key, frame.get("name"), frame.get("minutes")
        )
        await self.hub.publish(
            self.code, events.moderation_event("mute", frame["name"].strip(), by=self.name, minutes=frame["minutes"])
        )
        await self.hub.publish(self.code, events.muted_event(targets, until))

    async def receive_lock(self, frame):
        locked = await db(services.set_locked)(self.room, self.owner_key, frame.get("locked"))
        await self.hub.publish(self.code, events.moderation_event("lock" if locked else "unlock", self.name))
        await self.hub.publish(self.code, events.room_locked_event(locked))

    async def receive_transfer(self, frame):
        new_key, targets = await db(services.transfer_ownership)(self.room, self.owner_key, frame.get("to"))
        self.owner_key = None
        self.push(events.owner_state_frame(False))
        await self.hub.publish(self.code, events.moderation_event("owner", frame["to"].strip(), by=self.name))
        watch_active = bool(await db(services.current_watch_hash)(self.room))
        await self.hub.publish(self.code, events.ownership_event(targets, new_key, watch_active))

    async def receive_passphrase(self, frame):
        has_passphrase = await db(services.set_passphrase)(self.room, self.owner_key, frame.get("passphrase"))
        await self.hub.publish(
            self.code, events.moderation_event("passphrase_set" if has_passphrase else "passphrase_removed", self.name)
        )

    async def receive_expiry(self, frame):
        expires_at = await db(services.set_expiry)(self.room, self.owner_key, frame.get("hours"))
        await self.hub.publish(self.code, events.expiry_event(self.name, expires_at))

    def room_expiry(self, event):
        self.push(event["notice"])
        self.push(event["text"])

    def room_expired(self, event):
        self.end("room_expired", "This room reached the time its owner set and was deleted.", CLOSE_ROOM_EXPIRED)

    def room_kicked(self, event):
        if self.session_key in event["session_keys"]:
            self.end("kicked", "The owner removed you from this room.", CLOSE_KICKED)

    def room_muted(self, event):
        if self.session_key in event["session_keys"]:
            self.muted_until = datetime.fromtimestamp(event["until"], UTC)
            self.push(event["text"])

    def room_locked(self, event):
        self.room.locked = event["locked"]
        self.push(event["text"])

    def room_ownership(self, event):
        if self.session_key in event["session_keys"]:
            # The new key travels inside the server (hub, channel layer), and on the wire only to the
            # new owner's own connections, as its owner link.
            self.owner_key = event["owner_key"]
            link = reverse("rooms:claim_owner", kwargs={"code": self.code, "key": self.owner_key})
            self.push(events.owner_state_frame(True, owner_link=link, watch_active=bool(event.get("watch_active"))))
        elif self.owner_key is not None:
            self.owner_key = None  # the old owner's key no longer matches (other tabs of the giver)
            self.push(events.owner_state_frame(False))

    frame_handlers = {
        **frame_handlers,
        "message": ({"body", "client_id"}, receive_message_unless_muted),
        "kick": ({"name"}, receive_kick),
        "mute": ({"name", "minutes"}, receive_mute),
        "lock": ({"locked"}, receive_lock),
        "transfer": ({"to"}, receive_transfer),
        "passphrase": ({"passphrase"}, receive_passphrase),
        "expiry": ({"hours"}, receive_expiry),
    }

    # --- owner controls (issue 9): the read-only watch link -----------------------------------

    async def receive_watch_link(self, frame):
        token = await db(services.set_watch_link)(self.room, self.owner_key, frame.get("active"))
        path = None
        if token is not None:
            path = self.watch_path(token)
            # Kept in the owner's session, so the room menu shows the link again after a reload.
            session = self.scope.get("session")
            if session is not None:
                services.remember_watch_token(session, self.code, token)
                await db(session.save)()
        await self.hub.publish(self.code, events.watch_link_event(self.name, self.room.watch_token_hash, path))

    def room_watch_link(self, event):
        self.push(event["notice"])
        if self.owner_key is not None:
            self.push(event["text"])

    def watch_path(self, token):
        return reverse("rooms:watch", kwargs={"code": self.code, "token": token})

    frame_handlers = {**frame_handlers, "watch_link": ({"active"}, receive_watch_link)}

    # --- rich messages: edit, delete, reactions (docs/protocol.md) ------------------------------

    chat_message_changed = chat_message

    async def replay_changes(self):
        """On resume with `?after=ID&seq=SEQ`: the edits, deletions and reaction changes made since
        change SEQ to messages up to ID, as `message_changed` frames in change order."""
        after = self.resume_after()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        try:
            seq = int(query["seq"][0])
        except (KeyError, ValueError, IndexError):
            return
        if after is None or seq < 0:
            return
        seq = min(seq, MAX_MESSAGE_ID)
        while True:
            messages, more = await side_db(services.changes_after)(self.room, after, seq)
            for message in messages:
                self.push(events.message_changed_event(message)["text"])
                seq = message.change_seq
            if not more:
                return

    async def receive_edit(self, frame):
        if not self.bucket.take():
            raise ChatError("rate_limited", "You are sending too fast; slow down.", retry_after=self.bucket.wait())
        message = await db(services.edit_message)(self.room, frame.get("id"), self.session_key, frame.get("body"))
        await self.hub.publish(self.code, events.message_changed_event(message))

    async def receive_delete(self, frame):
        message = await db(services.delete_message)(self.room, frame.get("id"), self.session_key)
        await self.hub.publish(self.code, events.message_changed_event(message))

    async def receive_react(self, frame):
        if not self.bucket.take():
            raise ChatError("rate_limited", "You are sending too fast; slow down.", retry_after=self.bucket.wait())
        message = await db(services.toggle_reaction)(
            self.room, frame.get("id"), self.session_key, self.name, frame.get("emoji")
        )
        await self.hub.publish(self.code, events.message_changed_event(message))

    frame_handlers = {
        **frame_handlers,
        "edit": ({"id", "body"}, receive_edit),
        "delete": ({"id"}, receive_delete),
        "react": ({"id", "emoji"}, receive_react),
    }


async def refuse_read_only(consumer, frame):
    raise ChatError("read_only", "This is a read-only watch link: watchers cannot send or change anything.")


class WatchConsumer(RoomConsumer):
    """A read-only connection through the room's watch link (`ws/rooms/<CODE>/watch/<TOKEN>/`).

    No name or session is needed. It gets the history and every live event a member gets, but it
    is not a member: it is counted (presence frames' `watchers`), never listed, and every frame
    that would change something is refused with `read_only`. Revoking or replacing the link
    closes it (4014)."""

    name = None
    session_key = None
    watch_hash = ""

    async def admit(self):
        token = self.scope["url_route"]["kwargs"]["token"]
        try:
            self.room = await side_db(services.find_watched_room)(self.code, token, self.client_ip())
        except ChatError as error:
            await self.refuse(error.code, error.detail, CLOSE_RATE_LIMITED, **error.extra)
            return False
        if self.room is None:
            await self.refuse("watch_link_invalid", "This watch link is not valid (any more).", CLOSE_WATCH_LINK)
            return False
        self.watch_hash = self.room.watch_token_hash
        return True

    def register(self):
        services.add_watcher(self.room, self.hub.server_id, self.connection_id)
        return False  # watchers arrive and leave without a notice

    def unregister(self):
        services.remove_watcher(self.connection_id)
        return False

    async def send_room_state(self):
        if self.joined and self.room.expires_at:
            self.push(events.with_expiry(events.encode({"type": "room_state"}), self.room.expires_at))

    def room_watch_link(self, event):
        if event["watch_hash"] == self.watch_hash:
            return self.push(event["notice"])
        self.end("watch_revoked", "The owner ended this watch link.", CLOSE_WATCH_LINK)

    # Reading is allowed (ping, history pages); everything a member could change is refused.
    frame_handlers = {
        **{frame_type: (fields, refuse_read_only) for frame_type, (fields, _) in RoomConsumer.frame_handlers.items()},
        "ping": RoomConsumer.frame_handlers["ping"],
        "history": RoomConsumer.frame_handlers["history"],
    }
