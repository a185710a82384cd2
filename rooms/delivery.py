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
import functools
import itertools
import logging
import os
import socket
import uuid
import weakref
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django import db
from django.conf import settings

from . import events, services

logger = logging.getLogger(__name__)


# "Service restart": the client should reconnect (and resume after its last message id).
CLOSE_RESUME = 1012


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
        self.layer_lost = False  # the layer failed; events may have been missed until recovery
        self.recovering = asyncio.Lock()
        self.echo = None  # the future the next layer self-check waits on
        self.presence_reading = set()  # rooms whose member list is being re-read
        self.presence_outdated = set()  # rooms whose list changed again during that read
        self.members_reads = {}  # room code → future of the next member-list publication
        self.presence_publishing = set()  # rooms whose member list is being read and published

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
            self.tasks.append(asyncio.ensure_future(self._watch_layer()))
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

    async def publish_batches(self, batches):
        """Deliver events (a list per room code, each in order) to every connection of their room in
        every process: here all at once, to the other processes in one layer message per room. The
        layer sends one message at a time per process (a Redis round trip each): sent one by one,
        a busy process's messages would queue behind each other's round trips."""
        for code, batch in batches.items():
            for event in batch:
                self.deliver(code, event)
        if self.shared:
            for code, batch in batches.items():
                message = {"type": "hub.batch", "events": batch, "room": code, "origin": self.server_id}
                try:
                    await self.layer.group_send(group_name(code), message)
                except Exception:  # the layer failed; the messages are stored and resumable by id
                    logger.exception("publishing %d events to room %s failed", len(batch), code)

    async def publish_members(self, code, room):
        """Publish the room's member list as read after this call began (so after the caller's
        presence change committed). Callers that come while a read is in flight share the next
        one: a join storm of a room costs a few reads and frames, not one per member each."""
        future = self.members_reads.get(code)
        if future is None:
            future = self.members_reads[code] = asyncio.get_running_loop().create_future()
            # Nobody may be left to hear a failure (their connections closed meanwhile).
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            if code not in self.presence_publishing:
                self.presence_publishing.add(code)
                asyncio.ensure_future(self._publish_members(code, room))
        await asyncio.shield(future)

    async def _publish_members(self, code, room):
        try:
            while code in self.members_reads:
                future = self.members_reads.pop(code)
                try:
                    # On the main database thread: a rename publishes its lists from there, and
                    # this read must not overtake it with names from before.
                    presence = await read_presence_in_db_thread(room)
                    await self.publish(code, events.presence_event(*presence))
                except Exception as error:
                    future.set_exception(error)
                else:
                    future.set_result(None)
        finally:
            self.presence_publishing.discard(code)

    async def post_message(self, code, room, name, body, client_id, session_key=None):
        """Store a checked message and publish it once committed; returns (message, created, event)."""
        return await self.writer.post(code, room, name, body, client_id, services.author_key_of(session_key))

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()

    async def _read_layer(self):
        while True:
            if self.layer_lost and not await self._recover_layer():
                await asyncio.sleep(1)
                continue
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: recover once it is back, or rooms go deaf
                logger.warning("channel layer receive failed; recovering", exc_info=True)
                self.layer_lost = True
                await asyncio.sleep(1)
                continue
            if event["type"] == "hub.echo":
                if self.echo is not None and not self.echo.done():
                    self.echo.set_result(event["token"])
            elif event.get("origin") == self.server_id:
                continue
            elif event["type"] == "chat.presence":
                asyncio.ensure_future(self._send_current_members(event["room"]))
            elif event["type"] == "hub.batch":
                for each in event["events"]:
                    self.deliver(event["room"], each)
            else:
                self.deliver(event["room"], event)

    async def _send_current_members(self, code):
        """Member lists are published by each process independently, so one from another process
        can arrive after a newer one from here. Instead of passing it on, re-read the list once it
        has arrived (its change is committed by then): the last list every client gets is current."""
        if code in self.presence_reading:
            self.presence_outdated.add(code)  # re-read once the read in flight is done
            return
        self.presence_reading.add(code)
        try:
            while code in self.connections:
                self.presence_outdated.discard(code)
                room = await database_sync_to_async(services.find_room)(code)
                if room is None:
                    return
                presence = await database_sync_to_async(services.room_presence)(room)
                self.deliver(code, events.presence_event(*presence))
                if code not in self.presence_outdated:
                    return
        except Exception:  # the next membership change sends a fresh list anyway
            logger.warning("re-reading the member list of %s failed", code, exc_info=True)
        finally:
            self.presence_reading.discard(code)

    async def _watch_layer(self):
        """Every heartbeat: check the layer answers, and renew this process's group memberships."""
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)
            await self._check_layer()
            try:
                await self._refresh_groups()
            except Exception:  # Redis down: recovery follows once the layer answers again
                logger.warning("refreshing channel layer groups failed", exc_info=True)

    async def _check_layer(self):
        """Send an event to this process through the layer and wait for it: some layers (pub/sub)
        reconnect by themselves without reporting the events lost meanwhile; this notices."""
        token = uuid.uuid4().hex
        self.echo = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self.layer.send(self.channel, {"type": "hub.echo", "token": token}), 5)
            # Generous: a busy process must not take slowness for an outage and drop its clients.
            heard = await asyncio.wait_for(self.echo, 15)
        except Exception:
            heard = None
        if heard != token:
            if not self.layer_lost:
                logger.warning("channel layer did not echo; recovering when it does")
            self.layer_lost = True
        elif self.layer_lost:
            await self._recover_layer()

    async def _refresh_groups(self):
        """(Re)join the layer group of every room served here: a restarted Redis has forgotten the
        groups, and channels-redis expires a group membership after a day. Idempotent."""
        for code in list(self.connections):
            await self.layer.group_add(group_name(code), self.channel)
            if code not in self.connections:  # emptied meanwhile: its leave() already discarded
                await self.layer.group_discard(group_name(code), self.channel)

    async def _recover_layer(self):
        """After the layer failed, rejoin the groups, then close this process's connections so that
        each client reconnects and resumes after its last message id: events other processes
        published meanwhile never reached it. Returns False while the layer is still down."""
        async with self.recovering:
            if not self.layer_lost:
                return True  # recovered by the other caller
            try:
                await self._refresh_groups()
            except Exception:
                return False
            self.layer_lost = False
            for local in list(self.connections.values()):
                for connection in tuple(local):
                    await connection.close(code=CLOSE_RESUME)
            return True

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
                first = await database_sync_to_async(connection.register)()  # a member's presence, or a watcher
                if first:
                    arrived.add(connection.name)
            for name in sorted(arrived):
                await self.publish(code, events.join_event(name))
            room = next(iter(local)).room if local else None
            if room is not None:
                presence = await database_sync_to_async(services.room_presence)(room)
                await self.publish(code, events.presence_event(*presence))


# Side database threads. Channels runs every database_sync_to_async call of a process on one thread
# (thread_sensitive), which the message writer below shares. On PostgreSQL a join storm then queues
# thousands of reads and presence writes (~100 ms of that thread per join under load) ahead of the
# writer's batches, and every message waits seconds. Calls that need no order with the writer's
# batches run on these threads instead. SQLite keeps the single thread: writers on several threads
# there contend for its one lock ("database is locked").
SIDE_DB_THREADS = 4
_side_executors = [
    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-side-{number}") for number in range(SIDE_DB_THREADS)
]
_next_side_executor = itertools.count()


def _closing_connection(func):
    # Every call gives its connection back (to the psycopg pool), whether it failed or not: an idle
    # thread must not hold one. (database_sync_to_async does this too, but Channels' test
    # communicator switches that off while it runs, and a connection left open blocks dropping the
    # test database.)
    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            db.connection.close()

    return call


def side_db(func, key=None):
    """`func` as an awaitable, on a side database thread on PostgreSQL (the same thread for the same
    `key`, so calls sharing a key keep their order) or on the main database thread on SQLite."""
    if db.connections["default"].vendor == "sqlite":
        return database_sync_to_async(func)
    number = hash(key) if key is not None else next(_next_side_executor)
    executor = _side_executors[number % SIDE_DB_THREADS]
    return sync_to_async(_closing_connection(func), thread_sensitive=False, executor=executor)


def _store_batch(entries):
    # Channels' database_sync_to_async would close and reopen the connection around every batch
    # (CONN_MAX_AGE is 0, as Django advises under ASGI), which costs more than the INSERT itself.
    # The database thread keeps it between batches instead; one that failed is dropped. A pooled
    # connection (PostgreSQL) goes back to the pool, which costs next to nothing.
    try:
        stored = services.store_messages(entries)
    except Exception:
        db.connection.close()
        raise
    if getattr(db.connection, "pool", None) is not None:
        db.connection.close()
    return stored


# The same single database thread that database_sync_to_async uses (thread_sensitive).
store_in_db_thread = sync_to_async(_store_batch, thread_sensitive=True)
read_presence_in_db_thread = sync_to_async(_closing_connection(services.room_presence), thread_sensitive=True)


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

    async def post(self, code, room, name, body, client_id, author_key=""):
        future = asyncio.get_running_loop().create_future()
        self.queue.append((code, (room, name, body, client_id, author_key), future))
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
                published = defaultdict(list)  # room code → its new messages' events, in id order
                done = []
                for (code, _, future), result in zip(batch, stored, strict=True):
                    if isinstance(result, Exception):
                        if not future.done():
                            future.set_exception(result)
                        continue
                    message, created = result
                    event = events.message_event(message)
                    if created:
                        published[code].append(event)
                    done.append((future, (message, created, event)))
                await self.hub.publish_batches(published)
                for future, value in done:
                    if not future.done():
                        future.set_result(value)
        finally:
            self.task = None


async def publish_departures(hub, code, names):
    room = await database_sync_to_async(services.find_room)(code)
    if room is None:
        return
    for name in sorted(names):
        await hub.publish(code, events.leave_event(name))
    presence = await database_sync_to_async(services.room_presence)(room)
    await hub.publish(code, events.presence_event(*presence))


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
