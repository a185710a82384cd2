"""Replies and slash commands over the websocket, in history and in exports (docs/protocol.md,
"Conversation features")."""

import json

import pytest
from channels.db import database_sync_to_async

from rooms.errors import ChatError
from rooms.models import Message
from rooms.services.commands import SHRUG, Command, read_command
from rooms.services.messages import post_message
from rooms.services.rich import delete_message
from rooms.services.rooms import create_room
from rooms.services.transfer import export_rooms, import_room
from tests.support.database import stored_bodies
from tests.support.ws import next_of, settled

pytestmark = pytest.mark.django_db(transaction=True)


async def two_people(room, session_for, open_socket):
    ann_key, bob_key = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann = await settled(await open_socket(room.code, ann_key))
    bob = await settled(await open_socket(room.code, bob_key))
    await next_of(ann, "presence")
    return ann, bob, ann_key, bob_key


async def say(communicator, body, client_id, **fields):
    await communicator.send_json_to({"type": "message", "body": body, "client_id": client_id, **fields})


# --- replies ---------------------------------------------------------------------------------


async def test_a_reply_carries_its_parent_live_and_in_history(room, session_for, open_socket):
    ann, bob, ann_key, _ = await two_people(room, session_for, open_socket)
    await say(ann, "Lunch at noon?\nOr later,   maybe", "a1")
    question = await next_of(bob, "message")
    assert "reply_to" not in question and (await next_of(ann, "message"))["id"] == question["id"]
    await say(bob, "noon works", "b1", reply_to=question["id"])
    quoted = {"id": question["id"], "name": "Ann", "excerpt": "Lunch at noon? Or later, maybe"}
    for communicator in (ann, bob):
        reply = await next_of(communicator, "message")
        assert (reply["body"], reply["reply_to"]) == ("noon works", quoted)
    fresh = await open_socket(room.code, ann_key)
    history = await fresh.receive_json_from(timeout=3)
    assert [m.get("reply_to") for m in history["messages"]] == [None, quoted]


async def test_a_deleted_parent_shows_as_deleted_in_its_replies(room, session_for, open_socket):
    ann, bob, ann_key, _ = await two_people(room, session_for, open_socket)
    await say(ann, "secret", "a1")
    parent = await next_of(bob, "message")
    await say(bob, "what?", "b1", reply_to=parent["id"])
    await next_of(ann, "message")
    await ann.send_json_to({"type": "delete", "id": parent["id"]})
    await next_of(bob, "message_changed")
    fresh = await open_socket(room.code, ann_key)
    history = await fresh.receive_json_from(timeout=3)
    assert history["messages"][1]["reply_to"] == {"id": parent["id"], "name": "Ann", "excerpt": "", "deleted": True}
    # A deleted message cannot be replied to any more.
    await say(bob, "and now?", "b2", reply_to=parent["id"])
    error = await next_of(bob, "error")
    assert (error["code"], error["client_id"]) == ("message_not_found", "b2")


async def test_replying_to_another_rooms_or_a_missing_message_is_refused_and_nothing_stored(
    room, session_for, open_socket
):
    elsewhere = await database_sync_to_async(create_room)()
    other, _ = await database_sync_to_async(post_message)(elsewhere, "Zed", "over there")
    ann, _, _, _ = await two_people(room, session_for, open_socket)
    for reply_to, code in ((other.id, "message_not_found"), (10**9, "message_not_found"), ("1", "invalid_reply_to")):
        await say(ann, "hello?", f"c{code}{reply_to}", reply_to=reply_to)
        error = await next_of(ann, "error")
        assert error["code"] == code and error["detail"]
    assert await stored_bodies(room.code) == []


def test_a_long_parent_is_quoted_by_its_first_hundred_characters(room):
    parent, _ = post_message(room, "Ann", "word " * 60)
    reply, _ = post_message(room, "Bob", "tl;dr", reply_to=parent)
    from rooms.protocol import message_to_dict

    excerpt = message_to_dict(Message.objects.for_wire().get(pk=reply.pk))["reply_to"]["excerpt"]
    assert len(excerpt) <= 100 and excerpt.endswith("…") and excerpt.startswith("word word")


# --- slash commands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "command"),
    [
        ("/me waves", Command(body="waves", action=True)),
        ("/ME  waves\nhello", Command(body="waves\nhello", action=True)),
        ("/shrug", Command(body=SHRUG)),
        ("/shrug no idea", Command(body=f"no idea {SHRUG}")),
        ("/nick Annie", Command(nick="Annie")),
        ("//etc/hosts is a file", Command(body="/etc/hosts is a file")),
        ("/ not a command", Command(body="/ not a command")),
        ("plain text", Command(body="plain text")),
    ],
)
def test_a_body_is_read_as_the_command_it_spells(body, command):
    assert read_command(body) == command


def test_an_unknown_command_lists_the_known_ones():
    with pytest.raises(ChatError) as refused:
        read_command("/shout hi")
    assert refused.value.code == "unknown_command"
    assert "/me, /shrug, /nick" in refused.value.detail
    assert refused.value.extra == {"commands": ["me", "shrug", "nick"]}


async def test_me_shrug_and_a_literal_slash_are_stored_as_everyone_sees_them(room, session_for, open_socket):
    ann, bob, ann_key, _ = await two_people(room, session_for, open_socket)
    await say(ann, "/me waves", "a1")
    action = await next_of(bob, "message")
    assert (action["name"], action["body"], action["action"]) == ("Ann", "waves", True)
    await say(ann, "/shrug dunno", "a2")
    assert (await next_of(bob, "message"))["body"] == f"dunno {SHRUG}"
    await say(ann, "//me is not an action", "a3")
    literal = await next_of(bob, "message")
    assert literal["body"] == "/me is not an action" and "action" not in literal
    history = (await open_socket(room.code, ann_key)).receive_json_from(timeout=3)
    assert [m.get("action", False) for m in (await history)["messages"]] == [True, False, False]


async def test_nick_renames_and_confirms_the_sender_s_message(room, session_for, open_socket):
    ann, bob, _, _ = await two_people(room, session_for, open_socket)
    await say(ann, "/nick Annie", "a1")
    done = await next_of(ann, "command_done")
    assert done == {"type": "command_done", "command": "nick", "client_id": "a1"}
    notice = await next_of(bob, "system")
    assert (notice["event"], notice["old"], notice["new"]) == ("rename", "Ann", "Annie")
    await say(ann, "/nick Bob", "a2")
    error = await next_of(ann, "error")
    assert (error["code"], error["client_id"]) == ("name_taken", "a2")
    await say(ann, "/nick", "a3")
    assert (await next_of(ann, "error"))["code"] == "invalid_name"
    assert await stored_bodies(room.code) == []


async def test_an_unknown_command_is_refused_with_the_known_ones_and_nothing_stored(room, session_for, open_socket):
    ann, _, _, _ = await two_people(room, session_for, open_socket)
    await say(ann, "/shout hello", "a1")
    error = await next_of(ann, "error")
    assert (error["code"], error["client_id"], error["commands"]) == ("unknown_command", "a1", ["me", "shrug", "nick"])
    await say(ann, "/me", "a2")
    assert (await next_of(ann, "error"))["code"] == "empty_message"
    assert await stored_bodies(room.code) == []


# --- exports and transcripts -----------------------------------------------------------------


def test_export_and_import_carry_replies_and_actions(room):
    question, _ = post_message(room, "Ann", "who's in?")
    gone, _ = post_message(room, "Ann", "never mind", session_key="ann-session")
    post_message(room, "Bob", "me", reply_to=question)
    post_message(room, "Bob", "waves back", action=True, reply_to=gone)
    delete_message(room, gone.id, "ann-session")
    exported = json.loads("".join(export_rooms([room])))["rooms"][0]["messages"]
    assert [(m["id"], m["body"], m.get("action"), m.get("reply_to")) for m in exported] == [
        (1, "who's in?", None, None),
        (2, "me", None, {"id": 1, "name": "Ann", "excerpt": "who's in?"}),
        (3, "waves back", True, {"name": "Ann", "excerpt": "", "deleted": True}),
    ]
    text = "".join(export_rooms([room], fmt="text"))
    assert 'Bob: me\n  ↪ in reply to Ann: "who\'s in?"\n' in text
    assert "* Bob waves back\n  ↪ in reply to Ann: (deleted message)\n" in text

    copy = import_room({"title": "copy", "messages": exported}, batch_size=2)
    again = json.loads("".join(export_rooms([copy])))["rooms"][0]["messages"]
    assert [(m["body"], m.get("action"), m.get("reply_to")) for m in again] == [
        ("who's in?", None, None),
        ("me", None, {"id": 1, "name": "Ann", "excerpt": "who's in?"}),
        ("waves back", True, None),  # its parent was not exported: the link is gone, the message stays
    ]


async def test_resume_and_sync_carry_replies_and_pins(owned_room, open_socket):
    room, _, session = owned_room
    ada_key = await database_sync_to_async(session)("Ada", owner=True)
    ada = await settled(await open_socket(room.code, ada_key))
    await say(ada, "question", "a1")
    question = await next_of(ada, "message")
    await say(ada, "answer", "a2", reply_to=question["id"])
    answer = await next_of(ada, "message")
    await ada.send_json_to({"type": "pin", "id": question["id"], "pinned": True})
    pinned = await next_of(ada, "message_changed")
    # A page that saw only the question's storing resumes after it.
    resumed = await open_socket(room.code, ada_key, query=f"after_seq={question['seq']}")
    history = await resumed.receive_json_from(timeout=3)
    assert [(m["id"], m.get("reply_to", {}).get("id")) for m in history["messages"]] == [(answer["id"], question["id"])]
    replayed = await next_of(resumed, "message_changed")
    assert (replayed["id"], replayed["pinned"], replayed["seq"]) == (question["id"], True, pinned["seq"])
    await resumed.send_json_to({"type": "sync", "after_seq": 0})
    synced = [await next_of(resumed, "message", "message_changed") for _ in range(3)]
    assert [frame.get("reply_to", {}).get("id") for frame in synced] == [None, question["id"], None]
    assert synced[2]["pinned"] is True
