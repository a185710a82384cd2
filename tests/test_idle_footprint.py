"""What an idle connection keeps: thousands of them sit in rooms doing nothing, so each one's
tasks, database handles and handshake leftovers are multiplied by thousands."""

import asyncio
import contextlib
import gc

import pytest
from channels.db import database_sync_to_async
from django.db.backends.base.base import BaseDatabaseWrapper
from websockets.asyncio.client import connect
from websockets.protocol import Protocol

from chatsite.websocket_protocol import CoalescingWebSocketProtocol, LoopPings, PingDue, ReceiveQueue, WritableFlag
from rooms.realtime.db_threads import SIDE_DB_THREADS
from tests.support.ws import joined
from tests.test_websocket_protocol import serve


def database_handles():
    gc.collect()  # a handle is a reference cycle: only what is still reachable counts
    return sum(1 for thing in gc.get_objects() if isinstance(thing, BaseDatabaseWrapper))


@pytest.mark.django_db(transaction=True)
async def test_an_idle_member_keeps_one_task_and_no_database_handle_of_its_own(room, session_for, open_socket):
    sessions = [await database_sync_to_async(session_for)(f"Member {number}") for number in range(11)]
    for session in sessions[:3]:
        await joined(open_socket, room.code, session)
    await asyncio.sleep(0.2)  # the opening frames are written
    tasks, handles = len(asyncio.all_tasks()), database_handles()

    for session in sessions[3:]:
        await joined(open_socket, room.code, session)
    await asyncio.sleep(0.2)

    # Each connection is its application's task and nothing else while it is idle: no writer task
    # waiting for frames, no task waiting for the client's next message beside it.
    assert len(asyncio.all_tasks()) - tasks <= 8
    # Admission's database calls leave no handle behind in the connection's context (on PostgreSQL
    # a side database thread used for the first time opens its own, one per thread).
    assert database_handles() - handles <= SIDE_DB_THREADS


async def accept_and_wait(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": str(len(scope["headers"]))})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def test_a_connection_drops_the_parsed_handshake_and_keeps_a_light_state():
    server, task, port = await serve(accept_and_wait)
    try:
        async with connect(f"ws://127.0.0.1:{port}/", additional_headers={"X-Something": "yes"}) as socket:
            assert int(await socket.recv()) >= 5  # the application saw the request's headers
            (protocol,) = [p for p in server.server_state.connections if isinstance(p, CoalescingWebSocketProtocol)]
            # Neither uvicorn nor websockets' parser keeps the parsed request.
            assert protocol.request is None
            assert protocol.conn.parser.gi_code is Protocol.parse.__code__
            assert protocol.response is None
            assert isinstance(protocol.queue, ReceiveQueue) and isinstance(protocol.writable, WritableFlag)
            # At most 30 attributes in its dict: it shares its keys with every other connection's.
            assert len(vars(protocol)) <= 30
            await socket.send("still works")
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_handshakes_share_the_header_lines_they_repeat_but_not_their_cookies():
    scopes = []

    async def keep_scope(scope, receive, send):
        scopes.append(scope)
        await accept_and_wait(scope, receive, send)

    server, task, port = await serve(keep_scope)
    try:
        url = f"ws://127.0.0.1:{port}/"
        headers = {"Origin": "http://example.org", "Cookie": "sessionid=abc"}
        async with (
            connect(url, additional_headers=headers) as first,
            connect(url, additional_headers=headers) as second,
        ):
            await first.recv(), await second.recv()
            lines = [{line[0]: line for line in scope["headers"]} for scope in scopes]
            assert lines[0][b"origin"] == (b"origin", b"http://example.org")
            assert lines[0][b"origin"] is lines[1][b"origin"]
            assert lines[0][b"host"] is lines[1][b"host"]
            assert lines[0][b"cookie"] == lines[1][b"cookie"] and lines[0][b"cookie"] is not lines[1][b"cookie"]
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_idle_connections_are_pinged_from_the_loops_one_schedule():
    server, task, port = await serve(accept_and_wait, ws_ping_interval=0.05, ws_ping_timeout=5)
    try:
        async with connect(f"ws://127.0.0.1:{port}/") as socket:  # answers pings by itself
            await socket.recv()
            (protocol,) = [p for p in server.server_state.connections if isinstance(p, CoalescingWebSocketProtocol)]
            await asyncio.sleep(0.3)
            assert protocol.last_ping_rtt > 0  # pinged, and the pong came back
            assert isinstance(protocol.ping_timer, PingDue)  # the next one is scheduled
            await socket.send("still open")
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Pinged:
    def __init__(self, log, name, fails=False):
        self.log, self.name, self.fails = log, name, fails

    def send_keepalive_ping(self):
        self.log.append(self.name)
        if self.fails:
            raise RuntimeError("broken")


async def test_the_ping_schedule_pings_in_time_order_skips_the_cancelled_and_survives_a_failure():
    loop = asyncio.get_running_loop()
    handler_calls = []
    loop.set_exception_handler(lambda loop, context: handler_calls.append(context))
    try:
        pings, log = LoopPings(loop), []
        pings.add(0.06, Pinged(log, "late"))
        pings.add(0.02, Pinged(log, "failing", fails=True))
        pings.add(0.04, Pinged(log, "cancelled")).cancel()
        pings.add(0.01, Pinged(log, "early"))
        await asyncio.sleep(0.15)
        assert log == ["early", "failing", "late"]
        assert [type(context["exception"]) for context in handler_calls] == [RuntimeError]
        assert pings.due == [] and pings.timer is None
    finally:
        loop.set_exception_handler(None)


async def test_the_receive_queue_hands_out_in_order_and_wakes_its_reader():
    queue = ReceiveQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert queue.empty()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert await reader == 1
    assert await queue.get() == 2
    assert queue.empty()


async def test_the_writable_flag_releases_every_waiter_and_survives_a_cancelled_one():
    flag = WritableFlag()
    flag.set()
    assert await flag.wait()
    flag.clear()
    first, second = asyncio.ensure_future(flag.wait()), asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    assert not second.done()
    flag.set()
    assert await second
