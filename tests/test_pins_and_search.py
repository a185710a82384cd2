"""Pins, search and the page of history around a message, over the websocket (docs/protocol.md,
"Conversation features"), on SQLite's fallback and PostgreSQL's full-text index alike."""

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from rooms.errors import ChatError
from rooms.limits import PINS_MAX
from rooms.models import Message
from rooms.services.messages import post_message
from rooms.services.search import history_around, search_messages
from tests.support.ws import next_of, settled

pytestmark = pytest.mark.django_db(transaction=True)


async def owner_and_member(owned_room, open_socket):
    room, _, session = owned_room
    ada = await settled(await open_socket(room.code, await database_sync_to_async(session)("Ada", owner=True)))
    bob_key = await database_sync_to_async(session)("Bob")
    bob = await settled(await open_socket(room.code, bob_key))
    await next_of(ada, "presence")
    return room, ada, bob, bob_key


async def posted(room, *bodies, name="Bob"):
    return [(await database_sync_to_async(post_message)(room, name, body))[0] for body in bodies]


# --- pins --------------------------------------------------------------------------------------


async def test_the_owner_pins_and_everyone_sees_it_and_gets_the_pins_on_connect(owned_room, open_socket):
    room, ada, bob, bob_key = await owner_and_member(owned_room, open_socket)
    (message,) = await posted(room, "meeting notes: tinyurl")
    await ada.send_json_to({"type": "pin", "id": message.id, "pinned": True})
    for communicator in (ada, bob):
        changed = await next_of(communicator, "message_changed")
        assert (changed["id"], changed["pinned"], changed["body"]) == (message.id, True, "meeting notes: tinyurl")
    fresh = await settled(await open_socket(room.code, bob_key))
    assert (await fresh.receive_nothing(timeout=0.2)) is True  # pins are asked for, not pushed
    await fresh.send_json_to({"type": "pins"})
    pins = await next_of(fresh, "pins")
    assert [(m["id"], m["pinned"]) for m in pins["messages"]] == [(message.id, True)]

    await ada.send_json_to({"type": "pin", "id": message.id, "pinned": False})
    assert (await next_of(bob, "message_changed"))["pinned"] is False
    await fresh.send_json_to({"type": "pins"})
    assert (await next_of(fresh, "pins"))["messages"] == []


async def test_only_the_owner_pins_and_at_most_ten(owned_room, open_socket, settings):
    settings.OWNER_RATE_BURST = 50  # pins share the owner's frame rate; this test needs a dozen at once
    room, ada, bob, _ = await owner_and_member(owned_room, open_socket)
    messages = await posted(room, *[f"note {n}" for n in range(PINS_MAX + 1)])
    await bob.send_json_to({"type": "pin", "id": messages[0].id, "pinned": True})
    assert (await next_of(bob, "error"))["code"] == "forbidden"
    for message in messages[:PINS_MAX]:
        await ada.send_json_to({"type": "pin", "id": message.id, "pinned": True})
        assert (await next_of(bob, "message_changed"))["pinned"] is True
    await ada.send_json_to({"type": "pin", "id": messages[-1].id, "pinned": True})
    refused = await next_of(ada, "error")
    assert refused["code"] == "too_many_pins" and "10" in refused["detail"]
    await ada.send_json_to({"type": "pin", "id": messages[0].id, "pinned": "yes"})
    assert (await next_of(ada, "error"))["code"] == "invalid_frame"
    count = await database_sync_to_async(Message.objects.filter(room=room, pinned=True).count)()
    assert count == PINS_MAX


async def test_a_deleted_message_leaves_the_pins(owned_room, open_socket):
    room, ada, bob, _ = await owner_and_member(owned_room, open_socket)
    await bob.send_json_to({"type": "message", "body": "pin me", "client_id": "b1"})
    message = await next_of(ada, "message")
    await ada.send_json_to({"type": "pin", "id": message["id"], "pinned": True})
    assert (await next_of(ada, "message_changed"))["pinned"] is True
    await bob.send_json_to({"type": "delete", "id": message["id"]})
    changed = await next_of(ada, "message_changed")
    assert (changed["deleted"], changed["pinned"]) == (True, False)
    await ada.send_json_to({"type": "pin", "id": message["id"], "pinned": True})
    assert (await next_of(ada, "error"))["code"] == "message_not_found"


# --- search ------------------------------------------------------------------------------------


def test_search_finds_every_word_as_a_word_start_newest_first_and_never_a_deleted_message(room):
    old, _ = post_message(room, "Ann", "Lunch at NOON tomorrow?")
    post_message(room, "Bob", "afternoon is fine")  # "noon" inside a word does not match
    gone, _ = post_message(room, "Ann", "noon lunch secret", session_key="ann")
    new, _ = post_message(room, "Cy", "lunch: noon-ish")
    from rooms.services.rich import delete_message

    delete_message(room, gone.id, "ann")
    found, has_more = search_messages(room, "noon LUN")
    assert [message.id for message in found] == [new.id, old.id]
    assert has_more is False
    assert search_messages(room, "secret") == ([], False)
    assert [m.id for m in search_messages(room, "Zürich")[0]] == []


def test_search_pages_go_back_with_before(room):
    ids = [post_message(room, "Ann", f"report {n}")[0].id for n in range(5)]
    page, has_more = search_messages(room, "report", limit=2)
    assert ([m.id for m in page], has_more) == ([ids[4], ids[3]], True)
    page, has_more = search_messages(room, "report", before=ids[3], limit=2)
    assert ([m.id for m in page], has_more) == ([ids[2], ids[1]], True)


def test_search_matches_other_scripts_and_case(room):
    post_message(room, "Ann", "Привет, МИР")
    post_message(room, "Ann", "東京 station")
    assert len(search_messages(room, "мир")[0]) == 1
    assert len(search_messages(room, "station")[0]) == 1


@pytest.mark.parametrize("q", ["", "   ", "!!!", "x" * 101, 42, None])
def test_a_search_without_words_is_refused(room, q):
    with pytest.raises(ChatError) as refused:
        search_messages(room, q)
    assert refused.value.code == "invalid_query"


async def test_search_over_the_socket_has_its_own_rate_limit(room, session_for, open_socket):
    await posted(room, "alpha beta", "beta gamma")
    ann = await settled(await open_socket(room.code, await database_sync_to_async(session_for)("Ann")))
    await ann.send_json_to({"type": "search", "q": "beta"})
    results = await next_of(ann, "search_results")
    assert (results["q"], [m["body"] for m in results["messages"]], results["has_more"]) == (
        "beta",
        ["beta gamma", "alpha beta"],
        False,
    )
    for _ in range(10):
        await ann.send_json_to({"type": "search", "q": "beta"})
    refused = await next_of(ann, "error")
    assert (refused["code"], refused["q"]) == ("rate_limited", "beta") and refused["retry_after"] > 0
    # Messages are not held up by searching.
    await ann.send_json_to({"type": "message", "body": "still talking", "client_id": "a1"})
    assert (await next_of(ann, "message"))["body"] == "still talking"
    await ann.send_json_to({"type": "search", "q": "?"})
    invalid = await next_of(ann, "error")
    assert invalid["code"] in ("invalid_query", "rate_limited") and invalid["q"] == "?"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the full-text index is PostgreSQL's")
def test_postgresql_search_can_use_the_full_text_index(room):
    from django.contrib.postgres.search import SearchQuery

    from rooms.services.search import body_vector

    post_message(room, "Ann", "indexed words")
    # The query's expression must be the index's, or every search reads every message. Without a
    # room filter and with sequential scans off, only the full-text index can answer.
    query = SearchQuery("indexed:*", config="simple", search_type="raw")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            plan = Message.objects.annotate(text=body_vector()).filter(text=query).explain()
        finally:
            cursor.execute("SET enable_seqscan = on")
    assert "message_body_search" in plan
    assert [m.body for m in search_messages(room, "INDEX")[0]] == ["indexed words"]


# --- history around a message ------------------------------------------------------------------


def test_history_around_a_message_is_centred_on_it(room, settings):
    ids = [post_message(room, "Ann", f"m{n}")[0].id for n in range(60)]
    page, has_more, next_id = history_around(room, ids[30])
    assert [m.id for m in page] == ids[5:56] and (has_more, next_id) == (True, ids[56])
    page, has_more, next_id = history_around(room, ids[2])
    assert [m.id for m in page] == ids[0:28] and (has_more, next_id) == (False, ids[28])
    page, has_more, next_id = history_around(room, ids[58])
    assert [m.id for m in page] == ids[33:60] and (has_more, next_id) == (True, None)


async def test_history_around_over_the_socket(room, session_for, open_socket):
    messages = await posted(room, *[f"m{n}" for n in range(3)])
    ann = await settled(await open_socket(room.code, await database_sync_to_async(session_for)("Ann")))
    await ann.send_json_to({"type": "history", "around": messages[1].id})
    page = await next_of(ann, "history_around")
    assert (page["around"], [m["body"] for m in page["messages"]]) == (messages[1].id, ["m0", "m1", "m2"])
    assert (page["has_more"], page["has_newer"], page["next_id"]) == (False, False, None)
    await ann.send_json_to({"type": "history", "around": 10**12})
    assert (await next_of(ann, "error"))["code"] == "message_not_found"
    await ann.send_json_to({"type": "history", "around": messages[1].id, "before": messages[1].id})
    assert (await next_of(ann, "error"))["code"] == "invalid_frame"


async def test_a_watcher_searches_and_reads_the_pins_but_cannot_pin(owned_room, open_socket):
    from rooms.services.watch import set_watch_link

    room, key, _ = owned_room
    (message,) = await posted(room, "watch this space")
    token = await database_sync_to_async(set_watch_link)(room, key, True)
    watcher = await settled(await open_socket(room.code, watch=token))
    await watcher.send_json_to({"type": "search", "q": "space"})
    assert [m["id"] for m in (await next_of(watcher, "search_results"))["messages"]] == [message.id]
    await watcher.send_json_to({"type": "pins"})
    assert (await next_of(watcher, "pins"))["messages"] == []
    await watcher.send_json_to({"type": "pin", "id": message.id, "pinned": True})
    assert (await next_of(watcher, "error"))["code"] == "read_only"
    await watcher.send_json_to({"type": "message", "body": "/me sneaks in", "client_id": "w1"})
    assert (await next_of(watcher, "error"))["code"] == "read_only"
