"""Edit, delete and reactions over the websocket, and their replay on resume (docs/protocol.md,
"Edits, deletions, reactions")."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from rooms.models import Message
from rooms.protocol import author_tag, message_to_dict
from rooms.services.messages import author_key_of, post_message
from rooms.services.rooms import create_room
from tests.support.ws import joined, next_of, settled

pytestmark = pytest.mark.django_db(transaction=True)


async def two_people(room, session_for, open_socket):
    ann_key, bob_key = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann = await settled(await open_socket(room.code, ann_key))
    bob = await settled(await open_socket(room.code, bob_key))
    await next_of(ann, "presence")
    await ann.send_json_to({"type": "message", "body": "helo", "client_id": "c1"})
    message = await next_of(ann, "message")
    assert (await next_of(bob, "message"))["id"] == message["id"]
    return ann, bob, message, ann_key, bob_key


async def test_author_edits_and_everyone_sees_it(room, session_for, open_socket):
    ann, bob, message, *_ = await two_people(room, session_for, open_socket)
    assert message["edited"] is None and message["deleted"] is False
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "hello"})
    for communicator in (ann, bob):
        changed = await next_of(communicator, "message_changed")
        assert changed["id"] == message["id"]
        assert changed["body"] == "hello"
        assert changed["edited"] is not None
        assert changed["seq"] > 0


async def test_others_cannot_edit_or_delete(room, session_for, open_socket):
    ann, bob, message, *_ = await two_people(room, session_for, open_socket)
    await bob.send_json_to({"type": "edit", "id": message["id"], "body": "pwned"})
    assert (await next_of(bob, "error"))["code"] == "forbidden"
    await bob.send_json_to({"type": "delete", "id": message["id"]})
    assert (await next_of(bob, "error"))["code"] == "forbidden"
    stored = await database_sync_to_async(Message.objects.get)(id=message["id"])
    assert stored.body == "helo" and not stored.deleted


async def test_the_owner_deletes_any_message_and_others_see_who(owned_room, open_socket):
    room, _, session = owned_room
    ada = await settled(await open_socket(room.code, await database_sync_to_async(session)("Ada", owner=True)))
    bob_key = await database_sync_to_async(session)("Bob")
    bob = await settled(await open_socket(room.code, bob_key))
    await bob.send_json_to({"type": "message", "body": "spam", "client_id": "s1"})
    spam = await next_of(ada, "message")
    await ada.send_json_to({"type": "delete", "id": spam["id"]})
    for communicator in (ada, bob):
        changed = await next_of(communicator, "message_changed")
        assert (changed["id"], changed["deleted"], changed["body"]) == (spam["id"], True, "")
        assert changed["deleted_by"] == "owner"
    # History keeps who removed it; an author's own deletion says so.
    await bob.send_json_to({"type": "message", "body": "mine", "client_id": "s2"})
    mine = await next_of(bob, "message")
    await bob.send_json_to({"type": "delete", "id": mine["id"]})
    assert (await next_of(ada, "message_changed"))["deleted_by"] == "author"
    fresh = await open_socket(room.code, bob_key)
    first = await fresh.receive_json_from(timeout=3)
    assert [(m["id"], m["deleted_by"]) for m in first["messages"]] == [(spam["id"], "owner"), (mine["id"], "author")]
    # Not the owner: only one's own messages.
    await ada.send_json_to({"type": "message", "body": "the owner's", "client_id": "a1"})
    owners = await next_of(bob, "message")
    await bob.send_json_to({"type": "delete", "id": owners["id"]})
    assert (await next_of(bob, "error"))["code"] == "forbidden"


async def test_same_session_in_another_tab_may_edit(room, session_for, open_socket):
    ann, bob, message, ann_key, _ = await two_people(room, session_for, open_socket)
    tab = await settled(await open_socket(room.code, ann_key))
    await tab.send_json_to({"type": "edit", "id": message["id"], "body": "from tab"})
    assert (await next_of(bob, "message_changed"))["body"] == "from tab"


async def test_edit_window_closes_after_15_minutes(room, session_for, open_socket):
    ann, bob, message, *_ = await two_people(room, session_for, open_socket)
    old = timezone.now() - timedelta(minutes=16)
    await database_sync_to_async(Message.objects.filter(id=message["id"]).update)(created_at=old)
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "late"})
    assert (await next_of(ann, "error"))["code"] == "edit_window_closed"
    # Deleting has no time limit.
    await ann.send_json_to({"type": "delete", "id": message["id"]})
    changed = await next_of(bob, "message_changed")
    assert changed["deleted"] is True and changed["body"] == ""


async def test_bad_edits_are_refused(room, session_for, open_socket):
    ann, bob, message, *_ = await two_people(room, session_for, open_socket)
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "   "})
    assert (await next_of(ann, "error"))["code"] == "empty_message"
    await ann.send_json_to({"type": "edit", "id": "x", "body": "a"})
    assert (await next_of(ann, "error"))["code"] == "invalid_id"
    await ann.send_json_to({"type": "edit", "id": message["id"] + 1000, "body": "a"})
    assert (await next_of(ann, "error"))["code"] == "message_not_found"
    other = await database_sync_to_async(create_room)()
    elsewhere, _ = await database_sync_to_async(post_message)(other, "Ann", "x")
    await ann.send_json_to({"type": "delete", "id": elsewhere.id})
    assert (await next_of(ann, "error"))["code"] == "message_not_found"


async def test_deleted_message_cannot_be_edited_or_reacted_to(room, session_for, open_socket):
    ann, bob, message, *_ = await two_people(room, session_for, open_socket)
    await ann.send_json_to({"type": "delete", "id": message["id"]})
    await next_of(ann, "message_changed")
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "back"})
    assert (await next_of(ann, "error"))["code"] == "message_not_found"
    await bob.send_json_to({"type": "react", "id": message["id"], "emoji": "👍"})
    assert (await next_of(bob, "error"))["code"] == "message_not_found"


def tag(room, session_key):
    return author_tag(room.id, author_key_of(session_key))


async def test_reactions_toggle_and_count_for_everyone(room, session_for, open_socket):
    ann, bob, message, ann_key, bob_key = await two_people(room, session_for, open_socket)
    a, b = tag(room, ann_key), tag(room, bob_key)

    async def react(who, emoji="👍"):
        await who.send_json_to({"type": "react", "id": message["id"], "emoji": emoji})
        seen = [(await next_of(c, "message_changed"))["reactions"] for c in (ann, bob)]
        assert seen[0] == seen[1]
        return seen[0]

    assert await react(bob) == [{"emoji": "👍", "count": 1, "names": ["Bob"], "authors": [b]}]
    assert await react(ann) == [{"emoji": "👍", "count": 2, "names": ["Bob", "Ann"], "authors": [b, a]}]
    assert await react(ann, "🎉") == [
        {"emoji": "👍", "count": 2, "names": ["Bob", "Ann"], "authors": [b, a]},
        {"emoji": "🎉", "count": 1, "names": ["Ann"], "authors": [a]},
    ]
    assert await react(bob) == [
        {"emoji": "👍", "count": 1, "names": ["Ann"], "authors": [a]},
        {"emoji": "🎉", "count": 1, "names": ["Ann"], "authors": [a]},
    ]
    await bob.send_json_to({"type": "react", "id": message["id"], "emoji": "💩"})
    assert (await next_of(bob, "error"))["code"] == "invalid_reaction"


async def test_history_shows_current_state(room, session_for, open_socket):
    ann, bob, message, ann_key, bob_key = await two_people(room, session_for, open_socket)
    await ann.send_json_to({"type": "message", "body": "second", "client_id": "c2"})
    second = await next_of(ann, "message")
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "hello"})
    await next_of(ann, "message_changed")
    await ann.send_json_to({"type": "delete", "id": second["id"]})
    await next_of(ann, "message_changed")
    await bob.send_json_to({"type": "react", "id": message["id"], "emoji": "🎉"})
    await next_of(ann, "message_changed")
    _, history = await joined(open_socket, room.code, await database_sync_to_async(session_for)("Cy"))
    first, deleted = history["messages"]
    assert first["body"] == "hello" and first["edited"] is not None
    assert first["reactions"] == [{"emoji": "🎉", "count": 1, "names": ["Bob"], "authors": [tag(room, bob_key)]}]
    assert deleted["deleted"] is True and deleted["body"] == "" and "reactions" not in deleted


async def test_resume_replays_missed_changes(room, session_for, open_socket):
    ann, bob, message, ann_key, bob_key = await two_people(room, session_for, open_socket)
    await ann.send_json_to({"type": "message", "body": "second", "client_id": "c2"})
    second = await next_of(bob, "message")
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "v1"})
    seen = await next_of(bob, "message_changed")
    await bob.disconnect()
    # Bob misses: an edit of the first, a deletion of the second, a reaction, and a new message.
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "v2"})
    await ann.send_json_to({"type": "delete", "id": second["id"]})
    await ann.send_json_to({"type": "react", "id": message["id"], "emoji": "❤️"})
    await ann.send_json_to({"type": "message", "body": "third", "client_id": "c3"})
    while (await next_of(ann, "message"))["body"] != "third":  # Ann's echo of "second" comes first
        pass
    back = await open_socket(room.code, bob_key, query=f"after={second['id']}&seq={seen['seq']}")
    history = await next_of(back, "history")
    assert [m["body"] for m in history["messages"]] == ["third"]
    replayed = [await next_of(back, "message_changed") for _ in range(2)]
    # One frame per changed message, in change order, each with its current state.
    assert [(f["id"], f["deleted"]) for f in replayed] == [(second["id"], True), (message["id"], False)]
    assert replayed[1]["body"] == "v2"
    assert replayed[1]["reactions"] == [{"emoji": "❤️", "count": 1, "names": ["Ann"], "authors": [tag(room, ann_key)]}]
    assert replayed[0]["seq"] < replayed[1]["seq"]


async def test_resume_without_seq_replays_nothing(room, session_for, open_socket):
    ann, bob, message, ann_key, bob_key = await two_people(room, session_for, open_socket)
    await ann.send_json_to({"type": "edit", "id": message["id"], "body": "v1"})
    await next_of(ann, "message_changed")
    back = await open_socket(room.code, bob_key, query=f"after={message['id']}")
    await next_of(back, "history")
    while not await back.receive_nothing(timeout=0.3):
        assert (await back.receive_json_from())["type"] != "message_changed"


def test_author_tag_is_per_session_and_room_and_reveals_no_key(db):
    first, second = create_room(), create_room()
    key = author_key_of("session-one")
    tag = author_tag(first.id, key)
    assert tag == author_tag(first.id, key)  # every message of the session in the room
    assert tag != author_tag(first.id, author_key_of("session-two"))
    assert tag != author_tag(second.id, key)  # not linkable across rooms
    assert tag not in key and "session-one" not in tag
    assert author_tag(first.id, "") is None  # messages stored without an author
    message, _ = post_message(first, "Sam", "hi", session_key="session-one")
    assert message_to_dict(message)["author"] == tag
