"""A connection to a room: admission, joining the hub, history on connect, the bounded outbox, and
parsing inbound frames into calls of the handler its class declares for the frame's `type`.

The shape is the Channels tutorial's (connect → join the room's group → accept; handlers named
after event types), but the group is the process's `RoomHub`, which fans each event out once per
process instead of once per member.
"""

import asyncio
import functools
import uuid
from urllib.parse import parse_qs

from django.conf import settings
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from chatsite.websocket_protocol import SEND_TEXT_NOW
from rooms.errors import ChatError
from rooms.language import header_language
from rooms.limits import (
    HISTORY_DEDUPE_SECONDS,
    HISTORY_PAGES_BURST,
    HISTORY_PAGES_PER_SECOND,
    MAX_MESSAGE_ID,
    SESSION_BUDGET_WINDOW_SECONDS,
    session_budget,
)
from rooms.protocol import (
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_ROOM_EXPIRED,
    CLOSE_ROOM_REMOVED,
    CLOSE_TOO_SLOW,
    CLOSE_UNAVAILABLE,
    error_frame,
    history_frame,
    join_event,
    message_changed_event,
    presence_event,
)
from rooms.realtime.consumers.loop import ConnectionLoop
from rooms.realtime.db_threads import side_db
from rooms.realtime.flow import Outbox, TokenBucket
from rooms.realtime.frames import parse_frame
from rooms.realtime.hub import get_hub
from rooms.services.admission import client_ip
from rooms.services.budgets import atake
from rooms.services.log import changed_before_position, messages_after_position
from rooms.services.messages import changes_after, messages_after, recent_history
from rooms.validation import normalize_code

NO_IDS = frozenset()


class RoomConnection(ConnectionLoop):
    """What every connection to a room does; subclasses declare `admit`, `register`, `unregister`
    and their `frame_handlers`: {frame type: (allowed fields, handler(self, frame))}, and
    `session_budgets`: {frame type: the session budget it spends (limits.session_budget)}."""

    # No channel per connection: the process's RoomHub is the room's group member.
    channel_layer_alias = None
    frame_handlers = {}
    session_budgets = {}

    room = None
    joined = False
    writer = None  # the task sending the outbox's frames, while it has any
    outbox = None
    ending = False
    pending = None
    lists_received = 0  # room member lists delivered to this connection so far
    sent_in_history = NO_IDS  # ids the history frames carried, while a live copy may follow
    send_now = None  # the server's synchronous text frame writer, where it offers one

    # --- connection lifecycle -----------------------------------------------------------------

    async def connect(self):
        self.code = normalize_code(self.scope["url_route"]["kwargs"]["code"])
        self.connection_id = uuid.uuid4().hex
        # Error details are written in this language; admission may swap in the session's choice.
        self.language = header_language(self.scope)
        # Accept first so a refusal can say why in an error frame before the close code.
        await self.accept()
        if self.scope.get("origin_refused"):
            return await self.refuse(
                "forbidden_origin", _("Connections from this origin are not allowed."), CLOSE_FORBIDDEN_ORIGIN
            )
        try:
            if not await self.admit():
                return
            await self.join_room()
        except DatabaseError:
            # `disconnect` undoes whatever part of the join happened.
            return await self.refuse_unavailable()
        await self.send_room_state()

    def client_ip(self):
        forwarded_for = None
        for header_name, header_value in self.scope.get("headers", []):
            if header_name == b"x-forwarded-for":
                forwarded_for = header_value.decode("latin1")
        client = self.scope.get("client")
        return client_ip(client[0] if client else None, forwarded_for)

    def query(self, key):
        """An integer query parameter ≥ 0 (at most MAX_MESSAGE_ID), or None."""
        values = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get(key)
        try:
            value = int(values[0])
        except (TypeError, ValueError, IndexError):
            return None
        return min(value, MAX_MESSAGE_ID) if value >= 0 else None

    def error_text(self, code, detail, **extra):
        """An error frame with its detail (lazy text) in this connection's language. Hub events run
        outside the connection's task, so the language is chosen here rather than activated once."""
        with translation.override(self.language):
            return error_frame(code, detail, **extra)

    async def refuse(self, code, detail, close_code, **extra):
        await self.send(text_data=self.error_text(code, detail, **extra))
        await self.close(code=close_code)

    async def refuse_unavailable(self):
        await self.refuse(
            "unavailable", _("The server cannot reach its database right now; reconnecting later."), CLOSE_UNAVAILABLE
        )

    # Rate limits are made on the first frame that spends them (a bucket starts full, as it would
    # be by then anyway): most connections of a room only listen.
    @functools.cached_property
    def bucket(self):
        return TokenBucket(settings.MESSAGE_RATE_PER_SECOND, settings.MESSAGE_RATE_BURST)

    @functools.cached_property
    def history_bucket(self):
        return TokenBucket(HISTORY_PAGES_PER_SECOND, HISTORY_PAGES_BURST)

    async def join_room(self):
        self.outbox = Outbox(settings.OUTBOUND_QUEUE_MAX, settings.OUTBOUND_QUEUE_MAX_BYTES)
        self.send_now = self.scope.get("extensions", {}).get(SEND_TEXT_NOW, {}).get("send")
        self.pending = []  # live events that arrive while history is being sent
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
        if self.sent_in_history:
            self.hub.forget_history_later(self, HISTORY_DEDUPE_SECONDS)
        else:
            self.sent_in_history = NO_IDS
        if first and self.hub.announces_arrivals(self.code):
            await self.hub.publish(self.code, join_event(self.name))
        published = self.publish_presence()
        if published is not None:
            await asyncio.shield(published)  # the room's list, with this member, goes out now
        else:
            # The room's next list is some way off (a busy room): this connection's own, now,
            # unless a room list reached it meanwhile: that one may have been read after this one.
            lists_before = self.lists_received
            presence = await self.hub.members_now(self.code, self.room)
            if self.lists_received == lists_before:
                self.push(presence_event(*presence)["text"])

    async def send_room_state(self):
        """Tell this connection what is not the default about its standing (subclasses)."""

    async def replay_changes(self):
        """On resume, what changed in the messages the client already had, as `message_changed`
        frames in log order: with `?after_seq=N`, changes after position N to messages stored up
        to N; with `?after=ID&seq=SEQ` (older clients), changes after SEQ to messages up to id ID."""
        after_seq = self.query("after_seq")
        if after_seq is not None:
            changed_after = after_seq
            while True:
                messages, more = await side_db(changed_before_position)(self.room, after_seq, changed_after)
                for message in messages:
                    self.push(message_changed_event(message)["text"])
                    changed_after = message.change_seq
                if not more:
                    return
        after, seq = self.query("after"), self.query("seq")
        if after is None or seq is None:
            return
        while True:
            messages, more = await side_db(changes_after)(self.room, after, seq)
            for message in messages:
                self.push(message_changed_event(message)["text"])
                seq = message.change_seq
            if not more:
                return

    def push_unless_in_history(self, event):
        # By id, not by "id <= last in history": on PostgreSQL a message from another process can
        # commit after a later id did, so a smaller id may be new to this client.
        if event.get("id") not in self.sent_in_history:
            self.push(event["text"])

    def forget_history_ids(self):
        self.sent_in_history = NO_IDS

    async def send_history(self):
        """Send the history frame(s) and return the set of message ids sent.

        With `?after_seq=N` (a reconnecting client) every message stored after log position N is
        sent, in pages; with `?after=ID` (older clients) every message after id ID; otherwise the
        last HISTORY_LIMIT messages.
        """
        after_seq = self.query("after_seq")
        if after_seq is not None:
            return await self.send_pages_after(messages_after_position, after_seq, "seq", after_seq=after_seq)
        after = self.query("after")
        if after is None:
            messages, has_more = await side_db(recent_history)(self.room)
            self.push(history_frame(messages, has_more))
            return {message.id for message in messages}
        return await self.send_pages_after(messages_after, after, "id", after=after)

    async def send_pages_after(self, read_page, start, position_field, **marker):
        """Every message after `start` in history pages (`read_page(room, after)` gives a page and
        whether more follow, ordered by `position_field`); returns the ids sent."""
        sent, position = set(), start
        while True:
            messages, more = await side_db(read_page)(self.room, position)
            if messages:
                position = getattr(messages[-1], position_field)
                sent.update(message.id for message in messages)
            self.push(history_frame(messages, False, **marker, complete=not more))
            if not more:
                return sent

    async def ended(self):
        # Whatever ended this consumer (a close, a cancellation, a bug in a handler), its presence
        # and its place in the hub go with it: otherwise it stays listed, a ghost.
        await asyncio.shield(self.disconnect(None))

    async def disconnect(self, code):
        """Leave the room; called on the client's close and again when the consumer ends (once counts)."""
        if self.writer is not None:
            self.writer.cancel()
        self.outbox = None  # nothing more is sent (nor would a writer be started for it)
        if not self.joined:
            return
        self.joined = False
        await self.hub.leave(self.code, self)
        try:
            await side_db(self.unregister, key=self.presence_key)()
            await self.hub.heartbeat.connection_closed(self.room)
        except DatabaseError:
            pass  # the heartbeat settles this presence if the database is back later

    @property
    def presence_key(self):
        # One side thread per session: its arrivals and departures stay in order (a watcher has no
        # session; its connection is its own key).
        return self.session_key or self.connection_id

    def publish_presence(self):
        return self.hub.publish_members(self.code, self.room)

    # --- outbound: a bounded queue per connection ---------------------------------------------

    def push(self, text):
        """Send a frame to this client: at once when the server can write it now and nothing is
        queued before it, else through the outbox. A client too slow to keep up is disconnected
        (it can resume by id) rather than letting its queue grow without bound."""
        if self.outbox is None:
            return
        # No writer: nothing is queued or in its hands that this frame could overtake.
        if self.writer is None and self.send_now is not None and self.send_now(text):
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.outbox = None
            asyncio.ensure_future(self.close(code=CLOSE_TOO_SLOW))
            return
        if self.writer is None:
            # A writer runs while there is something to send: an idle connection keeps no task.
            self.writer = asyncio.ensure_future(self.write_outbox(self.outbox))

    async def write_outbox(self, outbox):
        send = self.base_send
        # Channels' session wrapper acts only on HTTP responses; skip its per-frame checks.
        send = getattr(getattr(send, "__self__", None), "real_send", send)
        try:
            # Everything queued since the last round goes out together, in order.
            while frames := outbox.take_nowait():
                for text in frames:
                    await send({"type": "websocket.send", "text": text})
        finally:
            self.writer = None

    def send_error(self, code, detail, **extra):
        self.push(self.error_text(code, detail, **extra))

    def end(self, code, detail, close_code):
        """Tell the client why, then close once its queued frames are out. Only the first reason
        counts: the same end can be announced twice (the purge's event and the heartbeat's check)."""
        if self.ending:
            return
        self.ending = True
        self.push(self.error_text(code, detail))
        asyncio.ensure_future(self.close_after_outbox(close_code))

    async def close_after_outbox(self, close_code):
        while self.outbox is not None and not self.outbox.empty():
            await asyncio.sleep(0.01)
        await self.close(code=close_code)

    # --- hub event handlers: named after the event type, like the Channels tutorial ------------

    def chat_message(self, event):
        if self.pending is not None:
            self.pending.append(event)
        elif self.sent_in_history:
            self.push_unless_in_history(event)
        else:
            self.push(event["text"])

    chat_system = chat_message

    def chat_presence(self, event):
        self.lists_received += 1
        self.chat_message(event)

    chat_message_changed = chat_message

    def room_removed(self, event):
        self.end("room_removed", _("This room was removed by an operator."), CLOSE_ROOM_REMOVED)

    def room_expired(self, event):
        self.end("room_expired", _("This room reached the time its owner set and was deleted."), CLOSE_ROOM_EXPIRED)

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
        try:
            frame, (fields, handle) = parse_frame(text_data, self.frame_handlers)
        except ChatError as error:
            return self.send_error(error.code, error.detail)
        # An error about a message names its client_id, so the client knows which one to retry.
        about = {"client_id": frame["client_id"]} if isinstance(frame.get("client_id"), str) else {}
        try:
            budget = self.session_budgets.get(frame["type"])
            if budget is not None:
                await self.spend_session_budget(budget)
            await handle(self, frame)
        except ChatError as error:
            self.send_error(error.code, error.detail, **error.extra, **about)
        except DatabaseError:
            self.send_error("unavailable", _("The server could not store that right now; please retry."), **about)

    async def spend_session_budget(self, kind):
        """Every socket of a session in a room draws on one budget: fifty tabs send no more than one."""
        await atake(
            kind,
            f"{self.session_key}:{self.code}",
            session_budget(kind),
            SESSION_BUDGET_WINDOW_SECONDS,
            _("You are sending too fast (from all your tabs together); wait {wait} s."),
        )
