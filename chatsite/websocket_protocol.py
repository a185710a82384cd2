"""uvicorn's sans-I/O websockets protocol with each connection's writes coalesced per loop turn,
and a room's event framed once for all its members, and less memory held by an idle connection.

A burst of room messages reaches one connection as several frames in a row; uvicorn writes each
to its socket at once, one system call per frame. Here the frames written in one turn of the event
loop go out in one write at the end of it: the same bytes in the same order, fewer system calls.

The hub hands every member of a room the same string; uvicorn would encode and frame it again for
each of them. A server's frames are unmasked and (with permessage-deflate off, as `make run` has
it) uncompressed, so the bytes are the same for everyone: they are built once (what
`websockets.broadcast` does). `make run` selects this protocol with
`--ws chatsite.websocket_protocol:CoalescingWebSocketProtocol`.

Thousands of connections sit idle most of the time, so what each one keeps counts: uvicorn gives
every connection an asyncio.Queue and an asyncio.Event (five deques of ~600 bytes each, empty or
not), a timer for its next keepalive ping, new copies of header lines that every handshake
repeats, and keeps the parsed handshake (request and response headers) for the connection's life.
"""

import asyncio
import heapq
import itertools
import weakref

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol


class LoopFlusher:
    """The transports of one event loop with gathered writes, flushed together when the loop comes
    round: one callback per turn, however many members an event went to."""

    def __init__(self, loop):
        self.loop = loop
        self.waiting = []

    def add(self, transport):
        if not self.waiting:
            self.loop.call_soon(self.flush)
        self.waiting.append(transport)

    def flush(self):
        waiting, self.waiting = self.waiting, []
        for transport in waiting:
            transport.flush()


class PerLoop:
    """One `make(loop)` per event loop, made on first use and gone with its loop."""

    def __init__(self, make):
        self.make = make
        self.made = weakref.WeakKeyDictionary()

    def __call__(self, loop):
        found = self.made.get(loop)
        if found is None:
            found = self.made[loop] = self.make(loop)
        return found


loop_flusher = PerLoop(LoopFlusher)


class PingDue:
    """A connection's place in its loop's ping schedule; `cancel` as a timer's (uvicorn calls it)."""

    __slots__ = ("protocol",)

    def __init__(self, protocol):
        self.protocol = protocol

    def cancel(self):
        self.protocol = None


class LoopPings:
    """When each connection of one event loop pings its client next, behind one timer: a timer
    per connection costs ~0.5 KiB (uvloop's handle, its libuv timer, the bound callback), an
    entry here a fifth of that."""

    def __init__(self, loop):
        self.loop = loop
        self.due = []  # heap of (loop time, order, PingDue)
        self.order = itertools.count()
        self.timer = None
        self.timer_at = None

    def add(self, delay, protocol):
        entry = PingDue(protocol)
        when = self.loop.time() + delay
        heapq.heappush(self.due, (when, next(self.order), entry))
        if self.timer is None or when < self.timer_at:
            self.arm(when)
        return entry

    def arm(self, when):
        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = when
        self.timer = self.loop.call_at(when, self.fire)

    def fire(self):
        self.timer = None
        now = self.loop.time()
        while self.due and self.due[0][0] <= now:
            protocol = heapq.heappop(self.due)[2].protocol
            if protocol is None:  # cancelled: closed, or no longer pinging
                continue
            try:
                protocol.send_keepalive_ping()
            except Exception as error:  # as its own timer's callback would be: logged, the others go on
                self.loop.call_exception_handler(
                    {"message": "Exception in a keepalive ping", "exception": error, "protocol": protocol}
                )
        if self.due:
            self.arm(self.due[0][0])


loop_pings = PerLoop(LoopPings)


# Header lines whose values repeat from one handshake to the next (a site's host and origin, a
# browser's user agent and languages, the upgrade's own lines): their (name, value) pairs are
# kept once for all connections. Per-connection ones (cookie, key, forwarded address) are not.
SHARED_HEADERS = frozenset(
    b"host origin upgrade connection sec-websocket-version sec-websocket-extensions user-agent accept-language "
    b"accept-encoding cache-control pragma x-forwarded-proto".split()
)
SHARED_VALUES_MAX = 4096  # at most this many kept; beyond, values are simply not shared


class SharedValues:
    """One copy of each value many connections repeat."""

    def __init__(self, limit):
        self.values = {}
        self.limit = limit

    def get(self, value):
        shared = self.values.get(value)
        if shared is None:
            if len(self.values) >= self.limit:
                return value
            shared = self.values[value] = value
        return shared


_shared = SharedValues(SHARED_VALUES_MAX)


def share_headers(headers):
    """Replace, in place, the header lines other connections repeat by their one shared copy."""
    for index, line in enumerate(headers):
        if line[0] in SHARED_HEADERS:
            headers[index] = _shared.get(line)


class CoalescingTransport:
    """A transport whose `write`s are gathered and written once when the loop comes round; every
    other call (close, pause, extra info) first writes what is gathered, so nothing is reordered."""

    def __init__(self, transport, loop):
        self._transport = transport
        self._flusher = loop_flusher(loop)
        self._chunks = []

    def write(self, data):
        if not data:
            return
        if not self._chunks:
            self._flusher.add(self)
        self._chunks.append(data)

    def writelines(self, chunks):
        for data in chunks:
            self.write(data)

    def flush(self):
        if self._chunks:
            data = b"".join(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
            self._chunks = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self):
        self.flush()
        self._transport.close()

    def abort(self):
        self._chunks = []
        self._transport.abort()

    def __getattr__(self, name):
        # is_closing, get_extra_info, pause_reading, resume_reading, ...: the real transport's.
        return getattr(self._transport, name)


class ReceiveQueue:
    """What uvicorn uses of its receive queue (`put_nowait`, `get`, `empty`), for its one reader
    (the application's `receive`): a list and at most one waiting future."""

    __slots__ = ("items", "waiter")

    def __init__(self):
        self.items = []
        self.waiter = None

    def put_nowait(self, item):
        self.items.append(item)
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self):
        return not self.items

    def qsize(self):
        return len(self.items)

    def arrival(self):
        """A future done when the next item is put (for the one reader, when the queue is empty)."""
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    async def get(self):
        while not self.items:
            await self.arrival()
        return self.items.pop(0)


class WritableFlag:
    """What uvicorn uses of its `writable` event (`set`, `clear`, `is_set`, `wait`); a waiting
    future exists only while the transport is paused."""

    __slots__ = ("flag", "waiter")

    def __init__(self):
        self.flag = False
        self.waiter = None

    def is_set(self):
        return self.flag

    def set(self):
        self.flag = True
        if self.waiter is not None:
            if not self.waiter.done():
                self.waiter.set_result(None)
            self.waiter = None

    def clear(self):
        self.flag = False

    async def wait(self):
        if self.flag:
            return True
        if self.waiter is None:
            self.waiter = asyncio.get_running_loop().create_future()
        # Shielded: several sends may wait on the one future, and a cancelled one must not cancel it.
        await asyncio.shield(self.waiter)
        return True


class FrameParser(Protocol):
    """Comes after ServerProtocol in a connection's classes, so that its handshake parser, once the
    request is parsed, hands over to a frame parser of its own instead of running it inside: the
    handshake parser's suspended frame, holding the parsed request, goes (~0.7 KiB)."""

    def parse(self):
        self.parser = Protocol.parse(self)
        next(self.parser)
        yield  # back to `receive_data`; the next data goes to the frame parser


class HandingOverServerProtocol(ServerProtocol, FrameParser):
    """websockets' ServerProtocol whose handshake parser hands over to FrameParser's."""


SEND_TEXT_NOW = "chatsite.send_text_now"  # the scope extension's name

_last_text_frame = (None, b"")  # (text, its frame): the event being fanned out right now


def text_frame(text):
    """A server's complete text frame carrying `text` (unmasked, uncompressed)."""
    global _last_text_frame
    last_text, frame = _last_text_frame
    if text is not last_text:
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
        _last_text_frame = (text, frame)
    return frame


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol writing through a `CoalescingTransport`, with text
    frames built once per event, a lighter receive queue and writable flag, and the handshake's
    headers dropped once they are used."""

    # uvicorn's protocol sets 37 attributes; past 30 an instance dict cannot share its keys with
    # the other instances' and takes ~1.5 KiB. These live in slots instead.
    __slots__ = (
        "handshake_initiated",
        "close_timer",
        "close_timeout",
        "initial_response",
        "pong_timer",
        "pending_ping_payload",
        "ping_sent_at",
        "last_ping_rtt",
        "frames",
        "curr_msg_data_type",
        "request",
        "response",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Before any data: ServerProtocol's parser calls the next class's `parse` once the request is in.
        self.conn.__class__ = HandingOverServerProtocol
        self.queue = ReceiveQueue()
        self.writable = WritableFlag()
        self.writable.set()

    def connection_made(self, transport):
        super().connection_made(CoalescingTransport(transport, self.loop))

    def handle_connect(self, event):
        super().handle_connect(event)
        share_headers(self.scope["headers"])
        # The scope has its own copy of the request's headers; uvicorn keeps the parsed request
        # for the connection's life, though it never reads it again.
        self.request = None
        # An ASGI extension: the application may write a text frame without a task switch.
        self.scope["extensions"][SEND_TEXT_NOW] = {"send": self.send_text_now}

    async def receive(self):
        # uvicorn's, with the queue's wait inline: no `get` coroutine held by every idle socket.
        queue = self.queue
        while not queue.items:
            await queue.arrival()
        message = queue.items.pop(0)
        if self.read_paused and not queue.items:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def send_text_now(self, text):
        """Write a text frame now, unless something stands in the way (the handshake, flow
        control, a close, compression): then False, and the frame goes the ASGI way."""
        if not self.sends_plain_frames():
            return False
        self.transport.write(text_frame(text))
        return True

    async def send(self, message):
        if message["type"] == "websocket.send" and self.sends_plain_frames():
            text = message.get("text")
            if text is not None:
                self.transport.write(text_frame(text))
                return
        # The handshake, a close, flow control (waiting until writable), a compressed connection:
        # uvicorn's own path.
        await super().send(message)

    def sends_plain_frames(self):
        conn = self.conn
        return (
            self.handshake_complete
            and self.initial_response is None
            and not self.close_sent
            and not self.disconnected
            and self.writable.is_set()
            and conn.state is State.OPEN
            and not conn.extensions
            and not conn.expect_continuation_frame
        )

    def start_keepalive(self):
        # uvicorn starts the keepalive right after writing the 101 response: it is not needed again.
        self.response = None
        super().start_keepalive()

    def schedule_ping(self):
        # uvicorn's own delay, in the loop's one schedule rather than a timer of this connection's.
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = loop_pings(self.loop).add(delay, self)
