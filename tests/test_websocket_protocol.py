"""The coalescing websocket transport under uvicorn: a burst of frames leaves in one write, in
order, and nothing written before a close is lost; an event sent to many members is framed once."""

import asyncio
import contextlib

import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from chatsite import websocket_protocol
from chatsite.websocket_protocol import CoalescingTransport
from tests.support.servers import compose_uvicorn_command

BURST = 200


class WriteCounter:
    """The real transport, with its writes counted."""

    def __init__(self, transport):
        self.transport = transport
        self.writes = 0

    def write(self, data):
        self.writes += 1
        self.transport.write(data)

    def __getattr__(self, name):
        return getattr(self.transport, name)


async def burst_app(scope, receive, send):
    """Accepts, sends BURST numbered frames without yielding between them, then closes with 4321."""
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    for number in range(BURST):
        await send({"type": "websocket.send", "text": str(number)})
    await send({"type": "websocket.close", "code": 4321})


async def serve(app, deflate=True, **options):
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        ws="chatsite.websocket_protocol:CoalescingWebSocketProtocol",
        ws_per_message_deflate=deflate,
        lifespan="off",
        log_level="warning",
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def test_a_burst_arrives_whole_and_in_order_before_the_close():
    server, task, port = await serve(burst_app)
    try:
        async with connect(f"ws://127.0.0.1:{port}/") as socket:
            received = []
            with contextlib.suppress(ConnectionClosedError):  # 4321 is not a normal closure
                while True:
                    received.append(await socket.recv())
            assert received == [str(number) for number in range(BURST)]
            assert socket.close_code == 4321
    finally:
        server.should_exit = True
        await task


async def test_writes_of_one_loop_turn_reach_the_socket_as_one():
    loop = asyncio.get_running_loop()
    received = bytearray()
    done = asyncio.Event()

    async def read(reader, _writer):
        received.extend(await reader.read())
        done.set()

    listener = await asyncio.start_server(read, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    counted = WriteCounter(transport)
    coalescing = CoalescingTransport(counted, loop)
    for number in range(50):
        coalescing.write(b"%d," % number)
    assert counted.writes == 0  # nothing leaves until the loop comes round
    await asyncio.sleep(0)
    assert counted.writes == 1
    coalescing.write(b"last")
    coalescing.close()  # what is gathered goes out before the close
    await asyncio.wait_for(done.wait(), 5)
    listener.close()
    assert received.decode() == "".join(f"{number}," for number in range(50)) + "last"
    assert counted.writes == 2


def test_the_served_command_uses_the_coalescing_protocol():
    command = compose_uvicorn_command()
    assert command[command.index("--ws") + 1] == "chatsite.websocket_protocol:CoalescingWebSocketProtocol"


# The three payload length encodings of a frame, and text that is not ASCII.
EVENTS = ["hello", "é" * 100, "x" * 70_000, "last"]
MEMBERS = 3


def fan_out_app():
    """Every connection waits; once MEMBERS are open, each event goes to all of them in turn (as
    the hub delivers a room's event), the same string object to each."""
    sends, everyone_in, sent = [], asyncio.Event(), asyncio.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        sends.append(send)
        if len(sends) == MEMBERS:
            everyone_in.set()
            for text in EVENTS:
                for member_send in sends:
                    await member_send({"type": "websocket.send", "text": text})
            sent.set()
        await sent.wait()
        await receive()  # the client's close

    return app


async def receive_events(port, compression):
    async with connect(f"ws://127.0.0.1:{port}/", compression=compression, max_size=None) as socket:
        return [await socket.recv() for _ in EVENTS]


async def fan_out(deflate, monkeypatch):
    """What each member received, and how many frames the protocol built itself."""
    built = []

    class CountedFrame(websocket_protocol.Frame):
        def serialize(self, **kwargs):
            built.append(self)
            return super().serialize(**kwargs)

    monkeypatch.setattr(websocket_protocol, "Frame", CountedFrame)
    server, task, port = await serve(fan_out_app(), deflate=deflate)
    try:
        compression = "deflate" if deflate else None
        received = await asyncio.gather(*(receive_events(port, compression) for _ in range(MEMBERS)))
    finally:
        server.should_exit = True
        await task
    return received, len(built)


async def test_an_event_for_every_member_is_framed_once_and_arrives_whole(monkeypatch):
    received, built = await fan_out(deflate=False, monkeypatch=monkeypatch)
    assert received == [EVENTS] * MEMBERS
    assert built == len(EVENTS)


async def test_a_compressed_connection_gets_its_own_frames_through_uvicorn(monkeypatch):
    received, built = await fan_out(deflate=True, monkeypatch=monkeypatch)
    assert received == [EVENTS] * MEMBERS
    assert built == 0  # compressed per connection by websockets, not shared


async def test_the_application_may_write_frames_at_once_through_the_scope_extension():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        send_now = scope["extensions"][websocket_protocol.SEND_TEXT_NOW]["send"]
        assert all([send_now(text) for text in EVENTS])
        await receive()

    server, task, port = await serve(app, deflate=False)
    try:
        assert await receive_events(port, compression=None) == EVENTS
    finally:
        server.should_exit = True
        await task
