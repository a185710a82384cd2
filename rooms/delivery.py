"""Event delivery: per-process fan-out of room events. It knows nothing of chat rules.

Each server process keeps the open connections of every room it serves. An event is encoded to
JSON once by its sender and handed to each local connection. When a shared channel layer (Redis)
is configured the event is also published once per room to the room's layer group, which has one
member per process (not per connection): every other process receives it once and delivers it to
its own connections, the way Phoenix PubSub and the socket.io Redis adapter fan out. The
in-memory layer can only serve one process, so with it nothing goes through the layer at all.

Events are dicts with a Channels-style `type` ("chat.message" is handled by a connection's
`chat_message` method) and, for frames bound for clients, the encoded frame in `text`.
"""

import asyncio
import logging
import os
import socket
import uuid
import weakref
from collections import defaultdict

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django import db
from django.conf import settings

from . import events, services

logger = logging.getLogger(__name__)


def group_name(code):
    return f"room.{code}"


class RoomHub:
    """The rooms this process serves and their local connections."""

    def __init__(self):
        self.server_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.connections = defaultdict(set)
        self.layer = get_channel_layer()
        # The in-memory layer cannot reach another process, so local delivery is all there is.
        self.shared = self.layer is not None and not isinstance(self.layer, InMemoryChannelLayer)
        self.channel = None
        self.tasks = []
        self.started = None
        self.writer = MessageWriter(self)

    async def start(self):
        """Register this process and start its heartbeat (and layer reader); idempotent."""
        if self.started is None:
            self.started = asyncio.ensure_future(self._start())
        await asyncio.shield(self.started)

    async def _start(self):
        await database_sync_to_async(services.beat_heart)(self.server_id)
        if self.shared:
            self.channel = await self.layer.new_channel()
            self.tasks.append(asyncio.ensure_future(self._read_layer()))
        self.tasks.append(asyncio.ensure_future(self._beat()))

    async def join(self, code, connection):
        local = self.connections[code]
        local.add(connection)
        if self.shared and len(local) == 1:
            await self.layer.group_add(group_name(code), self.channel)

    async def leave(self, code, connection):
        local = self.connections.get(code)
        if local is None:
            return
        local.discard(connection)
        if not local:
            del self.connections[code]
            if self.shared:
                await self.layer.group_discard(group_name(code), self.channel)

    def deliver(self, code, event):
        """Hand an event to every connection of the room in this process, without waiting."""
        local = self.connections.get(code)
        if not local:
            return
        handler_name = event["type"].replace(".", "_")
        for connection in tuple(local):
            getattr(connection, handler_name)(event)

    async def publish(self, code, event):
        """Deliver an event to every connection of the room, in every process."""
        self.deliver(code, event)
        if self.shared:
            await self.layer.group_send(group_name(code), {**event, "room": code, "origin": self.server_id})

    async def post_message(self, code, room, name, body, client_id):
        """Store a checked message and publish it once committed; returns (message, created, event)."""
        return await self.writer.post(code, room, name, body, client_id)

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()

    async def _read_layer(self):
        while True:
            event = await self.layer.receive(self.channel)
            if event.get("origin") != self.server_id:
                self.deliver(event["room"], event)

    async def _beat(self):
        """Keep this process's presence alive and announce the departures of processes that died."""
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)
            try:
                await database_sync_to_async(services.beat_heart)(self.server_id)
                departed = await database_sync_to_async(services.expire_stale_servers)()
                for code, names in departed.items():
                    await publish_departures(self, code, names)
            except Exception:  # a database hiccup must not stop the heartbeat for good
                logger.exception("presence heartbeat failed")


def _store_batch(entries):
    # Channels' database_sync_to_async would close and reopen the connection around every batch
    # (CONN_MAX_AGE is 0, as Django advises under ASGI), which costs more than the INSERT itself.
    # The database thread keeps it between batches instead; one that failed is dropped.
    try:
        return services.store_messages(entries)
    except Exception:
        db.connection.close()
        raise


# The same single database thread that database_sync_to_async uses (thread_sensitive).
store_in_db_thread = sync_to_async(_store_batch, thread_sensitive=True)


class MessageWriter:
    """Group commit for one process: messages posted while the database is busy with a batch are
    stored together in the next one (one thread hop, one transaction, one INSERT), so the single
    database thread keeps up with thousands of messages a second. Each message is published right
    after its batch commits, in id order, by the writer itself: a delivered message is always in
    history, and a sender that disconnects meanwhile cannot keep its stored message from the room."""

    BATCH_MAX = 500

    def __init__(self, hub):
        self.hub = hub
        self.queue = []
        self.task = None

    async def post(self, code, room, name, body, client_id):
        future = asyncio.get_running_loop().create_future()
        self.queue.append((code, (room, name, body, client_id), future))
        if self.task is None:
            self.task = asyncio.ensure_future(self._write())
        return await asyncio.shield(future)

    async def _write(self):
        try:
            while self.queue:
                batch, self.queue = self.queue[: self.BATCH_MAX], self.queue[self.BATCH_MAX :]
                try:
                    stored = await store_in_db_thread([entry for _, entry, _ in batch])
                except Exception as error:  # the senders get the error (e.g. DatabaseError → "unavailable")
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (code, _, future), (message, created) in zip(batch, stored, strict=True):
                    event = events.message_event(message)
                    if created:
                        try:
                            await self.hub.publish(code, event)
                        except Exception:  # the layer failed; the message is stored and resumable by id
                            logger.exception("publishing message %s failed", message.id)
                    if not future.done():
                        future.set_result((message, created, event))
        finally:
            self.task = None


async def publish_departures(hub, code, names):
    room = await database_sync_to_async(services.find_room)(code)
    if room is None:
        return
    for name in sorted(names):
        await hub.publish(code, events.leave_event(name))
    members = await database_sync_to_async(services.room_members)(room)
    await hub.publish(code, events.presence_event(members))


# One hub per event loop: a server has one loop; tests open a fresh loop per test.
_hubs = weakref.WeakKeyDictionary()


def get_hub():
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = RoomHub()
    return hub


async def stop_hubs():
    """Stop the current loop's hub (tests: each test's loop ends with it)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.stop()
