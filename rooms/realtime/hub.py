"""Per-process fan-out of room events. It knows nothing of chat rules.

Each server process keeps the open connections of every room it serves. An event is encoded to
JSON once by its sender and handed to each local connection. When a shared channel layer (Redis)
is configured the event is also published once per room to the room's layer group, which has one
member per process (not per connection): every other process receives it once and delivers it to
its own connections, the way Phoenix PubSub and the socket.io Redis adapter fan out. The
in-memory layer can only serve one process, so with it nothing goes through the layer at all.

Events are dicts with a Channels-style `type` ("chat.message" is handled by a connection's
`chat_message` method) and, for frames bound for clients, the encoded frame in `text`. Events of
a room's log (those with a `seq`) pass through the RoomSequencer, which hands them to the
connections once each and in log order, reading from the database whatever did not arrive.
"""

import asyncio
import contextvars
import heapq
import itertools
import logging
import os
import socket
import uuid
import weakref
from collections import defaultdict

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from rooms.protocol import ROOM_REMOVED, presence_event
from rooms.realtime import faults
from rooms.realtime.db_threads import main_db, main_db_closing, side_db
from rooms.realtime.fresh_reads import FreshReads
from rooms.realtime.heartbeat import Heartbeat
from rooms.realtime.layer import LayerLink, group_name
from rooms.realtime.sequencer import RoomSequencer
from rooms.realtime.writer import MessageWriter
from rooms.services.presence import beat_heart, room_presence

logger = logging.getLogger(__name__)


class RoomHub:
    """The rooms this process serves and their local connections."""

    def __init__(self, layer=None):
        self.server_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.connections = defaultdict(set)
        layer = get_channel_layer() if layer is None else layer
        # The in-memory layer cannot reach another process, so local delivery is all there is.
        self.shared = layer is not None and not isinstance(layer, InMemoryChannelLayer)
        self.link = LayerLink(self, layer) if self.shared else None
        self.layer = layer
        self.tasks = []
        self.started = None
        self.members_wanted = set()  # rooms whose member list changed since its last reading
        self.members_changed_at = {}  # when each of those last changed (loop time)
        self.presence_publishing = set()  # rooms whose member list is being read, published or paused
        self.publications = set()  # their tasks
        self.member_reads = FreshReads(self.read_members)
        self.sequencer = RoomSequencer(self.hand_out)
        self.writer = MessageWriter(self)
        self.heartbeat = Heartbeat(self)
        # Connections to call `forget_history_ids` on, by when: (loop time, order, connection), one
        # timer for all of them rather than one per connection.
        self.history_expiries = []
        self.history_order = itertools.count()
        self.history_timer = None

    async def start(self):
        """Register this process and start its heartbeat (and layer reader); idempotent."""
        if self.started is None:
            self.started = asyncio.ensure_future(self._start())
        await asyncio.shield(self.started)

    async def _start(self):
        await main_db(beat_heart)(self.server_id)
        if self.link is not None:
            self.tasks.extend(await self.link.start())
        self.tasks.append(asyncio.ensure_future(self.heartbeat.run()))
        self.tasks.append(asyncio.ensure_future(self.sequencer.run()))

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()
        if self.history_timer is not None:
            self.history_timer.cancel()
            self.history_timer = None
        self.sequencer.stop()
        # Member lists being read finish first: their queries must not outlive the hub (a test's
        # database is flushed right after).
        self.members_wanted.clear()
        if self.publications:
            await asyncio.wait(self.publications, timeout=5)

    async def join(self, code, connection):
        local = self.connections[code]
        local.add(connection)
        if len(local) == 1:
            if self.link is not None:
                await self.link.join(code)
            await self.sequencer.open(code)

    async def leave(self, code, connection):
        local = self.connections.get(code)
        if local is None:
            return
        local.discard(connection)
        if not local:
            del self.connections[code]
            self.sequencer.close(code)
            if self.link is not None:
                await self.link.leave(code)

    def forget_history_later(self, connection, delay):
        """Call `connection.forget_history_ids()` in `delay` seconds."""
        loop = asyncio.get_running_loop()
        entry = (loop.time() + delay, next(self.history_order), connection)
        heapq.heappush(self.history_expiries, entry)
        if self.history_timer is None or self.history_expiries[0] is entry:
            self._schedule_history_expiry(loop)

    def _schedule_history_expiry(self, loop):
        if self.history_timer is not None:
            self.history_timer.cancel()
        due = self.history_expiries[0][0] if self.history_expiries else None
        self.history_timer = loop.call_at(due, self._expire_history) if due is not None else None

    def _expire_history(self):
        self.history_timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.history_expiries and self.history_expiries[0][0] <= now:
            heapq.heappop(self.history_expiries)[2].forget_history_ids()
        self._schedule_history_expiry(loop)

    def deliver(self, code, event):
        """Hand an event to every connection of the room in this process, without waiting; events
        of the room's log go in log order, once each."""
        if "seq" in event:
            self.sequencer.accept(code, event)
        else:
            self.hand_out(code, event)

    def hand_out(self, code, event):
        local = self.connections.get(code)
        if not local or faults.hits("drop-client", event):
            return  # a test's fault: lost on the way to the pages, which ask for it with `sync`
        handler_name = event["type"].replace(".", "_")
        for connection in tuple(local):
            getattr(connection, handler_name)(event)

    async def publish(self, code, event):
        """Deliver an event to every connection of the room, in every process."""
        if not faults.hits("drop-local", event):
            self.deliver(code, event)
        if self.link is not None:
            await self.link.send(code, event)

    async def publish_batches(self, batches):
        """Deliver events (a list per room code, each in order) to every connection of their room in
        every process: here all at once, to the other processes in one layer message per room. The
        layer sends one message at a time per process (a Redis round trip each): sent one by one,
        a busy process's messages would queue behind each other's round trips."""
        for code, batch in batches.items():
            for event in batch:
                if not faults.hits("drop-local", event):
                    self.deliver(code, event)
        if self.link is not None:
            for code, batch in batches.items():
                try:
                    await self.link.send(code, {"type": "hub.batch", "events": batch})
                except Exception:  # the layer failed; the messages are stored and resumable by id
                    logger.exception("publishing %d events to room %s failed", len(batch), code)

    def announces_arrivals(self, code):
        """Whether joins and leaves in this room are announced (ANNOUNCE_MEMBERS_MAX), judged by
        this process's connections to it: exact with one process, a share of the room with several."""
        return len(self.connections.get(code, ())) <= settings.ANNOUNCE_MEMBERS_MAX

    def publish_members(self, code, room):
        """Publish the room's member list as read after this call began (so after the caller's
        presence change committed). Returns a future of that publication when it starts now,
        or None when it will come later: the caller need not wait for it.

        The list goes out once the room's membership has been still for PRESENCE_PUBLISH_SECONDS
        (at once when that is 0), and at least every PRESENCE_PUBLISH_MAX_SECONDS while it keeps
        changing. Pages apply join, leave and rename notices to their list at once, so the full
        list only confirms it; sent on every change, a storm of N joins would cost N lists of up
        to N names to each of N members, and even one list per half-second costs a busy room more
        than its joins do."""
        self.members_wanted.add(code)
        self.members_changed_at[code] = asyncio.get_running_loop().time()
        if code in self.presence_publishing:
            return None
        self.presence_publishing.add(code)
        published = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(self._publish_members(code, room, published))
        self.publications.add(task)
        task.add_done_callback(self.publications.discard)
        return published if settings.PRESENCE_PUBLISH_SECONDS <= 0 else None

    async def members_now(self, code, room):
        """The room's (members, watchers), read after this call began; callers at the same time
        share reads."""
        return await self.member_reads.get(code, room)

    @staticmethod
    async def read_members(code, room):
        return await side_db(room_presence)(room)

    async def _publish_members(self, code, room, published):
        loop = asyncio.get_running_loop()
        try:
            while code in self.members_wanted:
                await self._wait_for_settled_members(code, loop)
                if code not in self.members_wanted:
                    break  # the hub is stopping
                self.members_wanted.discard(code)
                try:
                    # On the main database thread: a rename publishes its lists from there, and
                    # this read must not overtake it with names from before.
                    presence = await main_db_closing(room_presence)(room)
                    await self.publish(code, presence_event(*presence))
                except Exception:  # the next change or heartbeat publishes again
                    logger.warning("publishing the member list of room %s failed", code, exc_info=True)
                if not published.done():
                    published.set_result(None)
        finally:
            if not published.done():
                published.set_result(None)
            self.presence_publishing.discard(code)
            self.members_changed_at.pop(code, None)

    async def _wait_for_settled_members(self, code, loop):
        """Until the room's membership has been still for PRESENCE_PUBLISH_SECONDS, or it has been
        changing for PRESENCE_PUBLISH_MAX_SECONDS."""
        settle, longest = settings.PRESENCE_PUBLISH_SECONDS, settings.PRESENCE_PUBLISH_MAX_SECONDS
        latest = loop.time() + longest
        while code in self.members_wanted:
            delay = min(self.members_changed_at.get(code, 0) + settle, latest) - loop.time()
            if delay <= 0:
                return
            await asyncio.sleep(delay)


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


async def post_from_http(code, entry):
    """Store a checked message posted over HTTP (a bot's) and publish it once committed: the
    websocket path exactly, through this loop's hub and its writer. It runs in a context of its
    own: a request's context would send the writer's database calls (thread-sensitive) to the
    request's thread, which the writer can outlive."""
    post = get_hub().writer.post(code, entry)
    return await asyncio.get_running_loop().create_task(post, context=contextvars.Context())


def announce_rooms_removed(sender, codes, **kwargs):
    """Receiver of the `rooms_removed` signal (services/operators.py sends it after a purge commits)."""
    from asgiref.sync import async_to_sync

    async_to_sync(publish_rooms_removed)(codes)


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
