"""Which database thread runs what (rooms/realtime/db_threads.py), and the batched fan-out of the writer."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from rooms.realtime import writer
from rooms.realtime.db_threads import side_db
from rooms.realtime.hub import get_hub
from rooms.services.messages import check_new_message
from rooms.services.rooms import find_room
from tests.support.hubs import RecordingConnection, process_hub, wait_for_frames
from tests.support.ws import receive_until

pytestmark = pytest.mark.django_db(transaction=True)


async def test_reads_leave_the_writer_thread_on_postgresql_only():
    writer_thread = await database_sync_to_async(threading.get_ident)()
    side_thread = await side_db(threading.get_ident)()
    if connection.vendor == "sqlite":
        assert side_thread == writer_thread  # several writer threads would lock SQLite
    else:
        assert side_thread != writer_thread


async def test_a_side_thread_gives_its_connection_back_after_each_call():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no side threads (and tests share one in-memory connection)")
    await side_db(find_room, key="probe")("NOSUCH")
    # The same key runs on the same thread: nothing there may still hold a connection.
    holds_one = await side_db(lambda: connection.connection is not None, key="probe")()
    assert not holds_one


async def test_members_joining_at_once_all_end_with_the_full_member_list(room, session_for, open_socket):
    names = [f"M{number}" for number in range(10)]
    keys = [await database_sync_to_async(session_for)(name) for name in names]
    members = await asyncio.gather(*(open_socket(room.code, key) for key in keys))
    for communicator in members:
        # Lists are read once per burst, not once per join; the last each member gets is complete.
        await receive_until(communicator, "presence", timeout=5, members=names)
        while not await communicator.receive_nothing(timeout=0.3):
            frame = await communicator.receive_json_from()
            if frame["type"] == "presence":
                assert frame["members"] == names


async def test_a_busy_writer_lets_messages_gather_and_writes_one_after_a_quiet_moment_at_once(
    room, settings, monkeypatch
):
    settings.MESSAGE_BATCH_INTERVAL = 2.0
    batches = []
    store = writer.store_in_db_thread

    async def recording_store(entries):
        batches.append([entry.body for entry in entries])
        return await store(entries)

    monkeypatch.setattr(writer, "store_in_db_thread", recording_store)
    message_writer = writer.MessageWriter(get_hub())
    loop = asyncio.get_running_loop()

    def post(body):
        return message_writer.post(room.code, check_new_message(room, "Ann", body, body))

    started = loop.time()
    await post("alone")
    assert loop.time() - started < 1.0  # not held back: nothing was written just before
    stored = await asyncio.gather(post("one"), post("two"), post("three"))
    assert loop.time() - started >= 2.0  # held until the interval since the last batch was over
    assert batches == [["alone"], ["one", "two", "three"]]
    assert [message.body for message, created, _ in stored] == ["one", "two", "three"]


@pytest.mark.production
async def test_a_batch_of_messages_reaches_another_process_once_and_in_id_order(room):
    first, second = await process_hub(), await process_hub()
    try:
        there = RecordingConnection()
        await second.join(room.code, there)
        await asyncio.sleep(0.2)  # the subscription reaches Redis before the first publish

        # Posted together, they are stored in one or a few batches and published per batch.
        results = await asyncio.gather(
            *(
                first.writer.post(room.code, check_new_message(room, "Ann", f"m{number}", f"c{number}"))
                for number in range(40)
            )
        )
        await wait_for_frames([there], 40)
        ids = [frame["id"] for frame in there.frames]
        assert ids == sorted(message.id for message, _, _ in results)
    finally:
        for hub in (first, second):
            await hub.stop()
            await hub.layer.flush()
