"""What an idle connection keeps: thousands of them sit in rooms doing nothing, so each one's
tasks, database handles and handshake leftovers are multiplied by thousands."""

import asyncio
import contextlib
import gc

import pytest
from channels.db import database_sync_to_async
from django.db.backends.base.base import BaseDatabaseWrapper
from websockets.asyncio.client import connect

from chatsite.websocket_protocol import CoalescingWebSocketProtocol, ReceiveQueue, WritableFlag
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
            assert not list(protocol.request.headers.raw_items())
            assert protocol.response is None
            assert isinstance(protocol.queue, ReceiveQueue) and isinstance(protocol.writable, WritableFlag)
            # At most 30 attributes in its dict: it shares its keys with every other connection's.
            assert len(vars(protocol)) <= 30
            await socket.send("still works")
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
