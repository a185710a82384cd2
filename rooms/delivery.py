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

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
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

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()

    async def _read_layer(self):
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarting: keep reading once it is back, or rooms go deaf
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(1)
                continue
            if event.get("origin") != self.server_id:
                self.deliver(event["room"], event)

    async def _beat(self):
        """Keep this process's presence alive and announce the departures of processes that died."""
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)
            try:
                forgotten = await database_sync_to_async(services.beat_heart)(self.server_id)
                if forgotten:
                    await self._register_again()
                departed = await database_sync_to_async(services.expire_stale_servers)()
                for code, names in departed.items():
                    await publish_departures(self, code, names)
                # Catches rooms deleted by a process the channel layer cannot reach (in-memory layer).
                for code in await database_sync_to_async(services.missing_room_codes)(list(self.connections)):
                    self.deliver(code, ROOM_REMOVED)
                await self.close_expired_rooms()
            except Exception:  # a database hiccup must not stop the heartbeat for good
                logger.exception("presence heartbeat failed")

    async def _register_again(self):
        """This process was silent long enough for the others to expire it (a long pause, a lost
        database): record its open connections again and announce them, so they are not ghosts."""
        for code, local in list(self.connections.items()):
            arrived = set()
            for connection in tuple(local):
                first = await database_sync_to_async(services.add_presence)(
                    connection.room, self.server_id, connection.connection_id, connection.name, connection.session_key
                )
                if first:
                    arrived.add(connection.name)
            for name in sorted(arrived):
                await self.publish(code, events.join_event(name))
            room = next(iter(local)).room if local else None
            if room is not None:
                members = await database_sync_to_async(services.room_members)(room)
                await self.publish(code, events.presence_event(members))


async def publish_departures(hub, code, names):
    room = await database_sync_to_async(services.find_room)(code)
    if room is None:
        return
    for name in sorted(names):
        await hub.publish(code, events.leave_event(name))
    members = await database_sync_to_async(services.room_members)(room)
    await hub.publish(code, events.presence_event(members))


# Sent to the connections of a room an operator deleted; they close with an error frame.
ROOM_REMOVED = {"type": "room.removed"}
ROOM_EXPIRED = {"type": "room.expired"}


async def _close_expired_rooms(hub):
    """Owner-set expiry (issue 9), checked each heartbeat: tell every process's connections of an
    expired room that it expired, then delete it (deleting twice from two processes is harmless)."""
    codes = await database_sync_to_async(services.expired_room_codes)(list(hub.connections))
    for code in codes:
        await hub.publish(code, ROOM_EXPIRED)
    await database_sync_to_async(services.purge_expired_rooms)()


RoomHub.close_expired_rooms = _close_expired_rooms


async def publish_rooms_removed(codes):
    """Close the connections of deleted rooms in every process: through this loop's hub when the
    caller runs in a server process, else straight to the shared layer (a management command)."""
    hub = _hubs.get(asyncio.get_running_loop())
    for code in codes:
        if hub is not None:
            await hub.publish(code, ROOM_REMOVED)
        else:
            layer = get_channel_layer()
            if layer is not None and not isinstance(layer, InMemoryChannelLayer):
                await layer.group_send(group_name(code), {**ROOM_REMOVED, "room": code, "origin": None})


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
