"""The room's event log: contiguous positions in commit order, and connected clients that get every
stored event live, without reconnecting, even when a delivery is lost."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from rooms.models import Message, MessageChange, Room
from rooms.realtime import sequencer as sequencer_module
from rooms.realtime.sequencer import RoomCursor, RoomSequencer
from rooms.services.log import events_between
from rooms.services.messages import check_new_message, post_message, store_messages
from rooms.services.rich import edit_message, toggle_reaction
from rooms.services.rooms import create_room
from tests.support.ws import assert_no_more_messages, joined, send

pytestmark = pytest.mark.django_db(transaction=True)

LOST = "LOST-IN-DELIVERY"


def positions(room):
    messages = list(Message.objects.filter(room=room).values_list("seq", flat=True))
    changes = list(MessageChange.objects.filter(room=room).values_list("seq", flat=True))
    return sorted(messages + changes)


def test_every_event_of_a_room_takes_the_next_position(room):
    other = create_room()
    first, _ = post_message(room, "Ann", "one", "c1", session_key="ann")
    post_message(other, "Bob", "elsewhere")
    post_message(room, "Ann", "one again", "c1", session_key="ann")  # a resend: no new event
    edit_message(room, first.id, "ann", "one, edited")
    toggle_reaction(room, first.id, "ann", "Ann", "👍")
    second, _ = post_message(room, "Ann", "two")
    assert positions(room) == [1, 2, 3, 4]
    assert Room.objects.get(pk=room.pk).last_seq == 4
    assert positions(other) == [1]
    assert (second.seq, Message.objects.get(pk=first.pk).change_seq) == (4, 3)


def test_a_batch_with_resends_and_a_removed_room_leaves_no_hole(room):
    gone = create_room()
    post_message(room, "Ann", "stored before", "dup")
    entries = [
        check_new_message(room, "Ann", "new 1", "n1"),
        check_new_message(room, "Ann", "stored before", "dup"),  # a resend
        check_new_message(gone, "Bob", "too late"),
        check_new_message(room, "Ann", "new 2", "n2"),
        check_new_message(room, "Ann", "new 2", "n2"),  # twice in one batch
    ]
    Room.objects.filter(pk=gone.pk).delete()  # purged meanwhile (its instance keeps its pk)
    results = store_messages(entries)
    created = [result[1] for result in results if isinstance(result, tuple)]
    assert created == [True, False, True, False]
    assert type(results[2]).__name__ == "ChatError" and results[2].code == "room_removed"
    assert positions(room) == [1, 2, 3]
    assert [seq for seq, _, _ in events_between(room.code, 0, 3)] == [1, 2, 3]


async def read_messages(communicator, count, timeout=4):
    """The next `count` message frames (other frames skipped), waiting at most `timeout` seconds."""
    bodies = []
    async with asyncio.timeout(timeout):
        while len(bodies) < count:
            frame = await communicator.receive_json_from(timeout=timeout)
            if frame["type"] == "message":
                bodies.append((frame["seq"], frame["body"]))
    return bodies


async def test_a_lost_delivery_reaches_connected_clients_in_order_without_reconnecting(
    room, session_for, open_socket, settings
):
    settings.DELIVERY_FAULTS = f"drop-local:{LOST}"
    ann, bob = [await database_sync_to_async(session_for)(name) for name in ("Ann", "Bob")]
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    for body in ("one", f"two {LOST}", "three"):
        await send(ann_socket, body)
        await asyncio.sleep(0.05)  # separate batches, so "three" arrives right behind the hole
    expected = [(1, "one"), (2, f"two {LOST}"), (3, "three")]
    for communicator in (ann_socket, bob_socket):
        assert await read_messages(communicator, 3, timeout=2) == expected
        await assert_no_more_messages(communicator, quiet=0.5)


async def test_the_last_message_of_a_burst_lost_still_arrives_through_the_head_check(
    room, session_for, open_socket, settings
):
    settings.DELIVERY_FAULTS = f"drop-local:{LOST}"
    ann, bob = [await database_sync_to_async(session_for)(name) for name in ("Ann", "Bob")]
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await send(ann_socket, "first")
    await send(ann_socket, f"last {LOST}")
    assert await read_messages(bob_socket, 2, timeout=3) == [(1, "first"), (2, f"last {LOST}")]
    await assert_no_more_messages(bob_socket, quiet=0.5)


async def test_sync_sends_the_events_after_a_position(room, session_for, open_socket):
    def chat():
        first, _ = post_message(room, "Ann", "one", session_key="ann")
        post_message(room, "Ann", "two")
        edit_message(room, first.id, "ann", "one, edited")

    await database_sync_to_async(chat)()
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session_for)("Bob"))
    await bob.send_json_to({"type": "sync", "after_seq": 1})
    frames = [await bob.receive_json_from(timeout=2) for _ in range(3)]
    assert [(frame["type"], frame["seq"], frame["body"]) for frame in frames[:2]] == [
        ("message", 2, "two"),
        ("message_changed", 3, "one, edited"),
    ]
    assert frames[2] == {"type": "synced", "after_seq": 1, "seq": 3, "complete": True}
    await bob.send_json_to({"type": "sync", "after_seq": "1"})
    error = await bob.receive_json_from(timeout=2)
    assert error["code"] == "invalid_after_seq"


async def test_resume_after_a_position_sends_new_messages_then_changes_to_older_ones(room, session_for, open_socket):
    def chat():
        first, _ = post_message(room, "Ann", "one", session_key="ann")
        post_message(room, "Ann", "two")  # position 2: the client saw up to here
        post_message(room, "Ann", "three")
        edit_message(room, first.id, "ann", "one, edited")

    await database_sync_to_async(chat)()
    bob = await database_sync_to_async(session_for)("Bob")
    communicator = await open_socket(room.code, bob, query="after_seq=2")
    history = await communicator.receive_json_from(timeout=2)
    assert [(m["seq"], m["body"]) for m in history["messages"]] == [(3, "three")]
    assert (history["after_seq"], history["complete"]) == (2, True)
    changed = await communicator.receive_json_from(timeout=2)
    assert (changed["type"], changed["seq"], changed["body"]) == ("message_changed", 4, "one, edited")


async def test_a_fill_overtaken_by_live_deliveries_never_goes_back(monkeypatch):
    """Under load the missing event (and more) can arrive live while the hole is read from the
    database: the read then finds nothing new, and delivery must go on from where it is, not from
    the end of the range read (which re-delivered every event since: duplicates)."""
    handed = []
    sequencer = RoomSequencer(lambda code, event: handed.append(event["seq"]))
    cursor = sequencer.cursors["ROOM"] = RoomCursor()
    cursor.delivered = 0

    def live(seq):
        sequencer.accept("ROOM", {"type": "chat.message", "seq": seq, "text": "{}"})

    def reading_while_the_hole_fills_itself(func):
        async def read(code, after, upto):
            for seq in range(after + 1, upto + 3):  # the missing ones and two more arrive meanwhile
                live(seq)
            return []

        return read

    monkeypatch.setattr(sequencer_module, "side_db", reading_while_the_hole_fills_itself)
    monkeypatch.setattr(sequencer_module, "GAP_WAIT", 0)
    live(3)  # ahead of a hole at 1 and 2: held while a fill reads them
    await cursor.filling
    live(6)
    assert handed == [1, 2, 3, 4, 5, 6]
