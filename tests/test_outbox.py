"""Outbound flow control and the group-committed message path, as a client sees them."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from rooms.models import Message
from rooms.protocol import message_event
from rooms.realtime.hub import get_hub
from rooms.services.messages import post_message
from tests.support.ws import joined, receive_until, send

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until_cut(communicator):
    """The frames a slow client got before the server closed it as too slow (4008)."""
    received = []
    while True:
        output = await communicator.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            assert output["code"] == 4008
            return received
        received.append(output["text"])


async def test_a_client_that_cannot_keep_up_is_cut_with_4008_and_resumes_by_id(
    room, session_for, open_socket, settings
):
    settings.OUTBOUND_QUEUE_MAX = 5
    ann = await database_sync_to_async(session_for)("Ann")
    slow, _ = await joined(open_socket, room.code, ann)

    def post_many():
        return [post_message(room, "Bob", f"burst {n}")[0] for n in range(20)]

    stored = await database_sync_to_async(post_many)()
    hub = get_hub()
    # Twenty frames handed over in one go, before its writer can run: more than it may queue.
    for message in stored:
        hub.deliver(room.code, message_event(message))
    received = await frames_until_cut(slow)
    assert 0 < len(received) <= 5

    again = await open_socket(room.code, ann, query=f"after={stored[len(received) - 1].id}")
    history = await again.receive_json_from(timeout=2)
    assert [m["body"] for m in history["messages"]] == [f"burst {n}" for n in range(len(received), 20)]


async def test_a_client_that_does_not_read_is_cut_by_the_bytes_it_holds_too(room, session_for, open_socket, settings):
    settings.OUTBOUND_QUEUE_MAX_BYTES = 20_000  # the frame count (1000) is far away
    ann = await database_sync_to_async(session_for)("Ann")
    slow, _ = await joined(open_socket, room.code, ann)

    def post_many():
        return [post_message(room, "Bob", "é" * 2000)[0] for _ in range(20)]  # ~4 KB of UTF-8 each

    hub = get_hub()
    for message in await database_sync_to_async(post_many)():
        hub.deliver(room.code, message_event(message))
    assert 0 < len(await frames_until_cut(slow)) <= 5


def test_the_outbox_counts_utf8_bytes_and_always_takes_one_frame():
    from rooms.realtime.flow import Outbox

    outbox = Outbox(100, max_bytes=10)
    outbox.put_nowait("x" * 50)  # one frame over the limit still goes when nothing else waits
    with pytest.raises(asyncio.QueueFull):
        outbox.put_nowait("x")
    assert outbox.take_nowait() == ["x" * 50]
    outbox.put_nowait("éé")  # 4 bytes
    outbox.put_nowait("ééé")  # 6 more: 10
    with pytest.raises(asyncio.QueueFull):
        outbox.put_nowait("a")


async def test_messages_sent_together_are_stored_and_delivered_once_in_id_order(room, session_for, open_socket):
    keys = [await database_sync_to_async(session_for)(name) for name in ("Ann", "Bob", "Cat")]
    sockets = [(await joined(open_socket, room.code, key))[0] for key in keys]
    # Everyone sends at once, so the messages share group commits; one resend is in the mix.
    await asyncio.gather(
        *(send(sock, f"{n} from {i}", client_id=f"{i}-{n}") for i, sock in enumerate(sockets) for n in range(5)),
        send(sockets[0], "0 from 0", client_id="0-0"),
    )
    seen = []
    for number, sock in enumerate(sockets):
        ids, repeats = [], []
        while len(ids) + len(repeats) < (16 if number == 0 else 15):
            frame, _ = await receive_until(sock, "message")
            (repeats if frame["id"] in ids else ids).append(frame["id"])
        seen.append((ids, repeats))
    stored = await database_sync_to_async(lambda: list(Message.objects.filter(room=room).order_by("id")))()
    assert len(stored) == 15
    assert sum(m.body == "0 from 0" for m in stored) == 1
    assert await sockets[1].receive_nothing(timeout=0.2)
    for number, (ids, repeats) in enumerate(seen):
        assert ids == [m.id for m in stored]  # every message, in id order
        resend = [m.id for m in stored if m.client_id == "0-0"]
        assert repeats == (resend if number == 0 else [])  # only the resender hears of its resend


async def test_a_failing_channel_layer_does_not_leave_the_sender_waiting(room, session_for, open_socket, monkeypatch):
    ann = await database_sync_to_async(session_for)("Ann")
    sock, _ = await joined(open_socket, room.code, ann)
    hub = get_hub()
    publish = hub.publish

    async def publish_then_fail(code, event):
        await publish(code, event)
        raise ConnectionError("redis went away")

    monkeypatch.setattr(hub, "publish", publish_then_fail)
    await send(sock, "first", client_id="f-1")
    await send(sock, "second", client_id="f-2")
    first, _ = await receive_until(sock, "message", body="first")
    second, _ = await receive_until(sock, "message", body="second")
    assert second["id"] > first["id"]
    await send(sock, "ping", client_id="f-3")
    await receive_until(sock, "message", body="ping")  # the connection still takes messages


async def test_a_frame_written_at_once_never_overtakes_one_still_queued():
    """Where the server can write a frame at once (uvicorn, chatsite/websocket_protocol.py), push
    does; while the socket is paused, or the outbox writer has frames to send, later ones queue."""
    from rooms.realtime.consumers.base import RoomConnection
    from rooms.realtime.flow import Outbox

    connection = RoomConnection()
    connection.outbox = Outbox(100)
    written, sent_by_writer, writable = [], [], [True]

    def send_now(text):
        if writable[0]:
            written.append(text)
        return writable[0]

    async def base_send(message):
        sent_by_writer.append(message["text"])

    connection.send_now, connection.base_send = send_now, base_send
    connection.push("1")
    writable[0] = False  # the socket's buffer is full
    connection.push("2")
    writable[0] = True
    connection.push("3")  # the writer has "2" to send: "3" goes after it
    assert written == ["1"]
    await connection.writer
    assert sent_by_writer == ["2", "3"]
    assert connection.writer is None
    connection.push("4")
    assert written == ["1", "4"]
