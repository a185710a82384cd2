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
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from . import events, services
from .delivery import get_hub
from .services import ChatError

# Close codes (4000-4999 are the application's): why a connection was refused or ended.
CLOSE_NO_NAME = 4001
CLOSE_FORBIDDEN_ORIGIN = 4003
CLOSE_ROOM_NOT_FOUND = 4004
CLOSE_TOO_SLOW = 4008
CLOSE_ROOM_REMOVED = 4010

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

    # --- connection lifecycle -----------------------------------------------------------------

    async def connect(self):
        self.code = services.normalize_code(self.scope["url_route"]["kwargs"]["code"])
        self.connection_id = uuid.uuid4().hex
        self.name, self.session_key = await db(read_session)(self.scope.get("session"))
        # Accept first so a refusal can say why in an error frame before the close code.
        await self.accept()
        if self.scope.get("origin_refused"):
            return await self.refuse(
                "forbidden_origin", "Connections from this origin are not allowed.", CLOSE_FORBIDDEN_ORIGIN
            )
        if not self.name or not self.session_key:
            return await self.refuse("no_name", "Choose a display name on the room page first.", CLOSE_NO_NAME)
        self.room = await db(services.find_room)(self.code)
        if self.room is None:
            return await self.refuse("room_not_found", f"There is no room with code {self.code}.", CLOSE_ROOM_NOT_FOUND)

        self.bucket = TokenBucket(settings.MESSAGE_RATE_PER_SECOND, settings.MESSAGE_RATE_BURST)
        self.outbox = Outbox(settings.OUTBOUND_QUEUE_MAX)
        self.pending = []  # live events that arrive while history is being sent
        self.writer = asyncio.ensure_future(self.write_outbox())
        self.hub = get_hub()
        await self.hub.start()
        # Join before reading history so nothing stored in between is missed; `pending` holds it.
        await self.hub.join(self.code, self)
        self.joined = True
        first = await db(services.add_presence)(
            self.room, self.hub.server_id, self.connection_id, self.name, self.session_key
        )
        last_id = await self.send_history()
        for event in self.pending:
            if event.get("id") is None or event["id"] > last_id:
                self.push(event["text"])
        self.pending = None
        if first:
            await self.hub.publish(self.code, events.join_event(self.name))
        await self.publish_presence()

    async def send_history(self):
        """Send the history frame(s) and return the highest message id sent (0 for none).

        With `?after=ID` (a reconnecting client) every message after ID is sent, in pages;
        otherwise the last HISTORY_LIMIT messages.
        """
        after = self.resume_after()
        if after is None:
            messages, has_more = await db(services.recent_history)(self.room)
            self.push(events.history_frame(messages, has_more))
            return messages[-1].id if messages else 0
        last_id = after
        while True:
            messages, more_after = await db(services.messages_after)(self.room, last_id)
            if messages:
                last_id = messages[-1].id
            self.push(events.history_frame(messages, False, after=after, complete=not more_after))
            if not more_after:
                return last_id

    def resume_after(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        try:
            after = int(query["after"][0])
        except (KeyError, ValueError, IndexError):
            return None
        return after if after >= 0 else None

    async def refuse(self, code, detail, close_code):
        await self.send(text_data=events.error_frame(code, detail))
        await self.close(code=close_code)

    async def disconnect(self, code):
        if self.writer is not None:
            self.writer.cancel()
        if not self.joined:
            return
        self.joined = False
        await self.hub.leave(self.code, self)
        try:
            last = await db(services.remove_presence)(self.connection_id)
            if last:
                await self.hub.publish(self.code, events.leave_event(self.name))
            await self.publish_presence()
        except DatabaseError:
            pass  # the heartbeat expires this presence if the database is back later

    async def publish_presence(self):
        members = await db(services.room_members)(self.room)
        await self.hub.publish(self.code, events.presence_event(members))

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

    async def send_error(self, code, detail):
        self.push(events.error_frame(code, detail))

    # --- hub event handlers: named after the event type, like the Channels tutorial ------------

    def chat_message(self, event):
        if self.pending is not None:
            self.pending.append(event)
        else:
            self.push(event["text"])

    chat_system = chat_message
    chat_presence = chat_message

    def room_removed(self, event):
        self.push(events.error_frame("room_removed", "This room was removed by an operator."))
        asyncio.ensure_future(self.close_after_outbox(CLOSE_ROOM_REMOVED))

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
        except ValueError:
            return await self.send_error("invalid_json", "Frames must be JSON objects.")
        if not isinstance(frame, dict):
            return await self.send_error("invalid_frame", "Frames must be JSON objects with a type.")
        handler = self.frame_handlers.get(frame.get("type"))
        if handler is None:
            return await self.send_error("unknown_type", f"Unknown frame type: {str(frame.get('type'))[:40]!r}.")
        fields, handle = handler
        unexpected = set(frame) - fields - {"type"}
        if unexpected:
            return await self.send_error(
                "invalid_frame", f"Unexpected field(s): {', '.join(sorted(unexpected))[:100]}."
            )
        try:
            await handle(self, frame)
        except ChatError as error:
            await self.send_error(error.code, error.detail)
        except DatabaseError:
            await self.send_error("unavailable", "The server could not store that right now; please retry.")

    async def receive_message(self, frame):
        if not self.bucket.take():
            raise ChatError("rate_limited", "You are sending messages too fast; slow down.")
        body = services.check_body(frame.get("body"))
        client_id = services.check_client_id(frame.get("client_id"))
        # The hub stores it (group commit) and publishes it once committed.
        message, created, event = await self.hub.post_message(self.code, self.room, self.name, body, client_id)
        if not created:
            self.push(event["text"])  # a resend: confirm it to the sender only

    async def receive_ping(self, frame):
        self.push(events.encode({"type": "pong"}))

    frame_handlers = {
        "message": ({"body", "client_id"}, receive_message),
        "ping": (set(), receive_ping),
    }
