"""Reconnecting clients lose nothing and see nothing twice: resume with ?after, idempotent resends,
one order for everybody (docs/protocol.md, "Resume" and "Idempotent sends")."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from rooms.models import Message
from rooms.protocol import message_event
from rooms.realtime import writer
from rooms.realtime.consumers import base as consumers_base
from rooms.realtime.hub import get_hub
from rooms.services.messages import post_message
from tests.support.database import stored_ids
from tests.support.ws import assert_no_more_messages, next_of, settled

pytestmark = pytest.mark.django_db(transaction=True)


async def post(room, bodies, name="Ann"):
    def store():
        return [post_message(room, name, body)[0].id for body in bodies]

    return await database_sync_to_async(store)()


async def read_history(communicator):
    """All history frames of a (resumed) connection, up to the complete one, and their message ids."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=3)
        if frame["type"] != "history":
            continue  # presence/system frames may interleave with later pages
        frames.append(frame)
        if frame.get("complete", True):
            return frames, [m["id"] for f in frames for m in f["messages"]]


async def message_ids(communicator, count, timeout=3):
    """The ids of the next `count` message frames (history frames included), in arrival order."""
    ids = []
    while len(ids) < count:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == "message":
            ids.append(frame["id"])
        elif frame["type"] == "history":
            ids.extend(m["id"] for m in frame["messages"])
    return ids


async def test_resume_sends_exactly_the_missed_messages_then_live_ones(room, session_for, open_socket):
    ids = await post(room, ["one", "two", "three", "four"])
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket = await open_socket(room.code, ann, query=f"after={ids[1]}")
    frames, resumed = await read_history(ann_socket)
    assert resumed == ids[2:]
    assert frames[-1]["after"] == ids[1] and frames[-1]["complete"] is True
    assert [m["body"] for m in frames[0]["messages"]] == ["three", "four"]

    bob_socket = await open_socket(room.code, bob)
    await bob_socket.send_json_to({"type": "message", "body": "live", "client_id": "live-1"})
    frame = await next_of(ann_socket, "message")
    assert (frame["body"], frame["client_id"]) == ("live", "live-1")
    assert frame["id"] > ids[-1]
    await assert_no_more_messages(ann_socket)
    assert await stored_ids(room.code) == [*ids, frame["id"]]


async def test_resume_from_the_newest_id_sends_an_empty_complete_page(room, session_for, open_socket):
    ids = await post(room, ["one"])
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, query=f"after={ids[-1]}")
    frames, resumed = await read_history(communicator)
    assert resumed == [] and len(frames) == 1 and frames[0]["complete"] is True


async def test_resume_over_many_pages_keeps_order_and_marks_the_last_page(room, session_for, open_socket, settings):
    settings.HISTORY_LIMIT = 3
    ids = await post(room, [f"m{n}" for n in range(11)])
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, query=f"after={ids[0]}")
    frames, resumed = await read_history(communicator)
    assert resumed == ids[1:]
    assert [len(f["messages"]) for f in frames] == [3, 3, 3, 1]
    assert [f["complete"] for f in frames] == [False, False, False, True]
    assert all(f["after"] == ids[0] and f["has_more"] is False for f in frames)


def inject_messages_while_history_is_read(monkeypatch, room, function_name, injections, both=False):
    """Make another member's messages get stored and delivered while a connecting client is still
    reading history: the race a reconnect meets in a busy room. Odd calls post before the page's
    query (so the message is in that page *and* delivered live), even calls after it; with `both`,
    every call does both."""
    hub = get_hub()
    loop = asyncio.get_running_loop()
    original = getattr(consumers_base, function_name)
    posted = []
    calls = []

    def post_and_deliver():
        message, _ = post_message(room, "Bob", f"racing {len(posted)}", f"race-{len(posted)}")
        posted.append(message.id)
        # Delivered on the event loop, as Bob's consumer would, before this page is returned.
        loop.call_soon_threadsafe(hub.deliver, room.code, message_event(message))

    def racing(*args, **kwargs):
        call = len(calls)
        calls.append(call)
        if call < injections and call % 2 == 0:
            post_and_deliver()
        result = original(*args, **kwargs)
        if call < injections and (call % 2 == 1 or both):
            post_and_deliver()
        return result

    monkeypatch.setattr(consumers_base, function_name, racing)
    return posted


async def test_messages_posted_while_resume_pages_are_sent_arrive_once_with_no_gap(
    room, session_for, open_socket, settings, monkeypatch
):
    settings.HISTORY_LIMIT = 2
    ids = await post(room, [f"before {n}" for n in range(6)])
    posted = inject_messages_while_history_is_read(monkeypatch, room, "messages_after", injections=4)
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, query=f"after={ids[1]}")
    # 4 missed + 4 racing messages, over pages of 2: pages and live deliveries overlap.
    received = await message_ids(communicator, 8)
    assert len(posted) == 4
    everything = await stored_ids(room.code)
    assert received == [i for i in everything if i > ids[1]]  # increasing, no gap, no duplicate
    assert set(posted) <= set(received)
    await assert_no_more_messages(communicator)


async def test_messages_posted_while_first_history_is_read_arrive_once(room, session_for, open_socket, monkeypatch):
    ids = await post(room, ["old"])
    posted = inject_messages_while_history_is_read(monkeypatch, room, "recent_history", injections=1, both=True)
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann)
    received = await message_ids(communicator, 3)
    assert len(posted) == 2
    assert received == [ids[0], *posted]
    await assert_no_more_messages(communicator)


async def test_a_resend_is_stored_and_broadcast_once_and_echoed_to_the_sender(room, session_for, open_socket):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket = await open_socket(room.code, ann)
    bob_socket = await open_socket(room.code, bob)
    frame = {"type": "message", "body": "only once", "client_id": "ann-42"}
    await ann_socket.send_json_to(frame)
    first = await next_of(ann_socket, "message")
    assert (await next_of(bob_socket, "message"))["id"] == first["id"]

    # The acknowledgement was "lost": Ann resends on the same connection, then after reconnecting.
    await ann_socket.send_json_to(frame)
    echo = await next_of(ann_socket, "message")
    assert echo == first
    await ann_socket.disconnect()
    again = await open_socket(room.code, ann, query=f"after={first['id'] - 1}")
    _, resumed = await read_history(again)
    assert resumed == [first["id"]]  # the resumed history already shows it as sent
    await again.send_json_to(frame)
    echo = await next_of(again, "message")
    assert (echo["id"], echo["client_id"], echo["body"]) == (first["id"], "ann-42", "only once")

    await assert_no_more_messages(bob_socket)
    assert await stored_ids(room.code) == [first["id"]]


async def test_concurrent_resends_from_two_tabs_store_one_message(room, session_for, open_socket):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    tabs = [await settled(await open_socket(room.code, ann)) for _ in range(2)]
    bob_socket = await settled(await open_socket(room.code, bob))
    frame = {"type": "message", "body": "from both tabs", "client_id": "same-key"}
    await asyncio.gather(*(tab.send_json_to(frame) for tab in tabs))
    echoes = [await next_of(tab, "message") for tab in tabs]
    assert echoes[0]["id"] == echoes[1]["id"]
    assert (await next_of(bob_socket, "message"))["id"] == echoes[0]["id"]
    assert await stored_ids(room.code) == [echoes[0]["id"]]


async def test_concurrent_senders_give_every_member_the_same_increasing_order(room, session_for, open_socket):
    names = ["Ann", "Bob", "Cat", "Dan", "Eve"]
    sockets = []
    for name in names:
        key = await database_sync_to_async(session_for)(name)
        sockets.append(await open_socket(room.code, key))
    per_sender = 8

    async def chatter(index, communicator):
        for number in range(per_sender):
            await communicator.send_json_to(
                {"type": "message", "body": f"{names[index]} {number}", "client_id": f"{index}-{number}"}
            )
            await asyncio.sleep(0)

    await asyncio.gather(*(chatter(i, s) for i, s in enumerate(sockets)))
    total = per_sender * len(names)
    views = []
    for communicator in sockets:
        views.append(await message_ids(communicator, total, timeout=5))
    stored = await stored_ids(room.code)
    assert len(stored) == total
    for view in views:
        assert view == stored  # identical for everyone, increasing, complete


async def test_a_message_stored_while_its_connection_is_torn_down_still_reaches_the_room(
    room, session_for, open_socket, monkeypatch
):
    """Daphne cancels a consumer that outlives its client; if that happens mid-store, the committed
    message must still be broadcast, or the others would never get it (resume starts after
    the newer ids they do get)."""
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket = await settled(await open_socket(room.code, ann))
    bob_socket = await settled(await open_socket(room.code, bob))
    loop = asyncio.get_running_loop()
    original = writer.store_in_db_thread

    async def store_while_the_connection_is_killed(entries):
        loop.call_soon(ann_socket.future.cancel)  # the server kills Ann's consumer
        await asyncio.sleep(0.2)  # ...while the batch is on its way to the database
        return await original(entries)

    monkeypatch.setattr(writer, "store_in_db_thread", store_while_the_connection_is_killed)
    await ann_socket.send_json_to({"type": "message", "body": "last words", "client_id": "ann-last"})
    frame = await next_of(bob_socket, "message")
    assert (frame["body"], frame["client_id"]) == ("last words", "ann-last")
    assert await stored_ids(room.code) == [frame["id"]]

    async def already_gone():
        pass  # the killed consumer has nothing left to disconnect

    monkeypatch.setattr(ann_socket, "disconnect", already_gone)


async def test_a_late_copy_of_a_message_already_in_the_history_is_not_sent_twice(room, session_for, open_socket):
    """Another process's channel-layer copy of a message can arrive after the joiner's history
    already carried it; a message with a smaller id that was not in the history still comes through
    (on PostgreSQL another process may commit it after a later id)."""
    late_commit, shown = await post(room, ["committed late elsewhere", "in the history"])
    late_message = await database_sync_to_async(Message.objects.get)(id=late_commit)
    await database_sync_to_async(Message.objects.filter(id=late_commit).delete)()  # not visible yet
    in_history = await database_sync_to_async(Message.objects.get)(id=shown)
    late_message.seq = in_history.seq + 1  # committed later: its log position follows
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann)
    _, history_ids = await read_history(communicator)
    assert history_ids == [shown]

    hub = get_hub()
    hub.deliver(room.code, message_event(in_history))  # the late copy of a shown message
    hub.deliver(room.code, message_event(late_message))  # new to this client
    await communicator.send_json_to({"type": "ping"})
    frames = []
    while (frame := await communicator.receive_json_from(timeout=3))["type"] != "pong":
        frames.append(frame)
    assert [f["id"] for f in frames if f["type"] == "message"] == [late_commit]
