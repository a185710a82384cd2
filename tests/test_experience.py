"""Room experience over the websocket: rename, typing, history paging (docs/protocol.md)."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from rooms.limits import HISTORY_PAGES_BURST
from rooms.models import Message, Presence, Room
from rooms.services.messages import post_message
from rooms.services.rooms import create_room
from tests.support.home_form import post_home
from tests.support.ws import joined, receive_until, send

pytestmark = pytest.mark.django_db(transaction=True)

sync = database_sync_to_async


async def session_keys(session_for, *names):
    """A saved session (see the session_for fixture) for each name; their keys."""
    return [await sync(session_for)(name) for name in names]


# --- rename ---------------------------------------------------------------------------------


async def test_rename_tells_everyone_updates_members_and_later_messages(room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])

    await ann_socket.send_json_to({"type": "rename", "name": "  Annie  "})
    seen_by_bob, _ = await receive_until(bob_socket, "system", event="rename")
    assert (seen_by_bob["old"], seen_by_bob["new"]) == ("Ann", "Annie")
    assert "you" not in seen_by_bob
    seen_by_ann, _ = await receive_until(ann_socket, "system", event="rename")
    assert (seen_by_ann["old"], seen_by_ann["new"], seen_by_ann["you"]) == ("Ann", "Annie", True)
    for communicator in (ann_socket, bob_socket):
        presence, _ = await receive_until(communicator, "presence")
        assert presence["members"] == ["Annie", "Bob"]

    await send(ann_socket, "new name, same me")
    message, _ = await receive_until(bob_socket, "message")
    assert message["name"] == "Annie"


async def test_a_rename_survives_a_refresh(room, session_for, open_socket):
    (ann,) = await session_keys(session_for, "Ann")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    await ann_socket.send_json_to({"type": "rename", "name": "Annie"})
    await receive_until(ann_socket, "presence", members=["Annie"])

    assert (await sync(lambda: SessionStore(ann)["name"])()) == "Annie"
    assert await sync(lambda: list(Presence.objects.values_list("name", flat=True)))() == ["Annie"]

    def load_room_page():
        browser = Client()
        browser.cookies["sessionid"] = ann
        return browser.get(f"/rooms/{room.code}/").content.decode()

    page = await sync(load_room_page)()
    assert "Message as Annie" in page
    await ann_socket.disconnect()
    reconnected = await open_socket(room.code, ann)
    await receive_until(reconnected, "presence", members=["Annie"])  # a reconnect joins under the new name


async def test_a_rename_in_one_tab_renames_the_other_tab_too(room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    first_tab, _ = await joined(open_socket, room.code, ann)
    second_tab, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)

    await first_tab.send_json_to({"type": "rename", "name": "Annie"})
    frame, _ = await receive_until(second_tab, "system", event="rename")
    assert frame["you"] is True
    await receive_until(bob_socket, "presence", members=["Annie", "Bob"])
    await send(second_tab, "from the other tab")
    message, _ = await receive_until(bob_socket, "message")
    assert message["name"] == "Annie"


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("   ", "Please enter a display name."),
        ("x" * 33, "Names can be at most 32 characters."),
        ("bell\u0007", "Names cannot contain control characters."),
        (5, "Name must be text."),
    ],
)
async def test_an_invalid_rename_gets_an_error_and_changes_nothing(name, detail, room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])

    await ann_socket.send_json_to({"type": "rename", "name": name})
    error, _ = await receive_until(ann_socket, "error")
    assert (error["code"], error["detail"]) == ("invalid_name", detail)
    assert await bob_socket.receive_nothing(timeout=0.3)
    assert (await sync(lambda: SessionStore(ann)["name"])()) == "Ann"
    await send(ann_socket, "still Ann")
    message, _ = await receive_until(bob_socket, "message")
    assert message["name"] == "Ann"


async def test_a_rename_to_a_present_members_name_gets_name_taken(room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])

    await ann_socket.send_json_to({"type": "rename", "name": " BOB "})
    error, _ = await receive_until(ann_socket, "error")
    assert (error["code"], error["detail"]) == (
        "name_taken",
        "Someone in this room is already called BOB; please choose another name.",
    )
    assert await bob_socket.receive_nothing(timeout=0.3)
    assert (await sync(lambda: SessionStore(ann)["name"])()) == "Ann"


async def test_renaming_to_the_same_name_announces_nothing(room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])
    await ann_socket.send_json_to({"type": "rename", "name": " Ann "})
    assert await bob_socket.receive_nothing(timeout=0.3)
    assert await ann_socket.receive_nothing(timeout=0.1)


async def test_a_rename_is_announced_in_every_room_the_person_is_in(session_for, open_socket):
    room, other_room = await sync(lambda: (create_room(), create_room()))()
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_here, _ = await joined(open_socket, room.code, ann)
    await joined(open_socket, other_room.code, ann)
    bob_there, _ = await joined(open_socket, other_room.code, bob)
    await ann_here.send_json_to({"type": "rename", "name": "Annie"})
    frame, _ = await receive_until(bob_there, "system", event="rename")
    assert frame["new"] == "Annie"
    await receive_until(bob_there, "presence", members=["Annie", "Bob"])


# --- typing ---------------------------------------------------------------------------------


async def test_typing_reaches_the_others_once_per_interval_and_is_not_stored(room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])

    for _ in range(3):
        await ann_socket.send_json_to({"type": "typing"})
    frame = await bob_socket.receive_json_from(timeout=2)
    assert frame == {"type": "typing", "name": "Ann"}
    assert await bob_socket.receive_nothing(timeout=0.3)  # the extra two were dropped silently
    assert await ann_socket.receive_nothing(timeout=0.1)  # never echoed to the typist, no error either
    assert await sync(Message.objects.count)() == 0


async def test_typing_is_relayed_each_time_once_the_interval_has_passed(room, session_for, open_socket, settings):
    settings.TYPING_THROTTLE_SECONDS = 0
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])
    await ann_socket.send_json_to({"type": "typing"})
    await ann_socket.send_json_to({"type": "typing"})
    assert await bob_socket.receive_json_from(timeout=2) == {"type": "typing", "name": "Ann"}
    assert await bob_socket.receive_json_from(timeout=2) == {"type": "typing", "name": "Ann"}


async def test_typing_right_after_a_sent_message_is_relayed(room, session_for, open_socket):
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])
    await ann_socket.send_json_to({"type": "typing"})
    await send(ann_socket, "first")
    await ann_socket.send_json_to({"type": "typing"})
    frames = [await bob_socket.receive_json_from(timeout=2) for _ in range(3)]
    assert [frame["type"] for frame in frames] == ["typing", "message", "typing"]


async def test_typing_is_not_shown_to_the_typists_other_tab(room, session_for, open_socket):
    (ann,) = await session_keys(session_for, "Ann")
    first_tab, _ = await joined(open_socket, room.code, ann)
    second_tab, _ = await joined(open_socket, room.code, ann)
    await receive_until(first_tab, "presence")
    await first_tab.send_json_to({"type": "typing"})
    assert await second_tab.receive_nothing(timeout=0.3)


async def test_typing_frames_take_no_fields(room, session_for, open_socket):
    (ann,) = await session_keys(session_for, "Ann")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    await ann_socket.send_json_to({"type": "typing", "name": "Mallory"})
    error, _ = await receive_until(ann_socket, "error")
    assert error["code"] == "invalid_frame"


# --- history paging -------------------------------------------------------------------------


async def test_history_pages_back_to_the_start(room, session_for, open_socket):
    def post_many():
        return [post_message(room, "Ann", f"message {number}")[0].id for number in range(120)]

    ids = await sync(post_many)()
    (ann,) = await session_keys(session_for, "Ann")
    ann_socket, first = await joined(open_socket, room.code, ann)
    assert "before" not in first  # the on-connect frame keeps its contract shape
    assert [m["body"] for m in first["messages"]] == [f"message {n}" for n in range(70, 120)]

    await ann_socket.send_json_to({"type": "history", "before": first["messages"][0]["id"]})
    page, _ = await receive_until(ann_socket, "history")
    assert page["before"] == ids[70]
    assert [m["body"] for m in page["messages"]] == [f"message {n}" for n in range(20, 70)]
    assert page["has_more"] is True

    await ann_socket.send_json_to({"type": "history", "before": page["messages"][0]["id"]})
    page, _ = await receive_until(ann_socket, "history")
    assert [m["body"] for m in page["messages"]] == [f"message {n}" for n in range(20)]
    assert page["has_more"] is False


async def test_a_history_page_is_for_the_asker_only(room, session_for, open_socket):
    await sync(lambda: post_message(room, "Ann", "old"))()
    ann, bob = await session_keys(session_for, "Ann", "Bob")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])
    await ann_socket.send_json_to({"type": "history", "before": 10**9})
    page, _ = await receive_until(ann_socket, "history")
    assert [m["body"] for m in page["messages"]] == ["old"]
    assert await bob_socket.receive_nothing(timeout=0.3)


@pytest.mark.parametrize("before", [0, -3, "12", 1.5, True, None, [1]])
async def test_a_bad_history_request_gets_an_error(before, room, session_for, open_socket):
    (ann,) = await session_keys(session_for, "Ann")
    ann_socket, _ = await joined(open_socket, room.code, ann)
    await ann_socket.send_json_to({"type": "history", "before": before})
    error, _ = await receive_until(ann_socket, "error")
    assert error["code"] == "invalid_before"
    await send(ann_socket, "connection still works")
    await receive_until(ann_socket, "message")


# --- the room page and named rooms ----------------------------------------------------------


def test_the_room_page_has_the_rename_paging_typing_and_new_message_controls():
    browser = Client(enforce_csrf_checks=True)
    response = post_home(browser, name="Ann", create="")
    page = browser.get(response["Location"]).content.decode()
    for snippet in (
        'id="rename-toggle"',
        '<label for="rename-name">New name</label>',
        'id="load-earlier"',
        'id="new-messages"',
        'id="typing"',
        '<textarea id="message"',
        '<ol id="messages" aria-label=',
        '<div id="announcer" class="visually-hidden" aria-live="polite"',
    ):
        assert snippet in page
    # History is not read out in bulk: only the announcer is a live region.
    assert 'id="messages" aria-live' not in page


def test_a_titled_room_shows_its_title_in_the_page_and_the_tab_escaped():
    browser = Client(enforce_csrf_checks=True)
    response = post_home(browser, name="Ann", title="  <b>Book</b> club  ", create="")
    page = browser.get(response["Location"]).content.decode()
    assert "<title>&lt;b&gt;Book&lt;/b&gt; club · " in page
    assert '<p id="room-title" class="room-title">&lt;b&gt;Book&lt;/b&gt; club</p>' in page


def test_a_title_over_60_characters_is_refused_and_the_typed_values_are_kept():
    browser = Client(enforce_csrf_checks=True)
    response = post_home(browser, name="Ann", title="t" * 61, create="")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Titles can be at most 60 characters." in page
    assert 'value="' + "t" * 61 + '"' in page
    assert 'value="Ann"' in page
    assert not Room.objects.exists()


async def test_history_paging_is_rate_limited_and_says_when_to_ask_again(room, session_for, open_socket):
    """Load-earlier pages are limited per connection (a flood of them would keep the database busy
    for everyone); the refusal carries `before` so the page knows which request to repeat."""

    def post_many():
        for number in range(5):
            post_message(room, "Ann", f"message {number}")

    await database_sync_to_async(post_many)()
    socket, history = await joined(open_socket, room.code, await database_sync_to_async(session_for)("Ann"))
    oldest = history["messages"][-1]["id"]
    for _ in range(HISTORY_PAGES_BURST):
        await socket.send_json_to({"type": "history", "before": oldest})
        page, _ = await receive_until(socket, "history")
        assert page["before"] == oldest and len(page["messages"]) == 4
    await socket.send_json_to({"type": "history", "before": oldest})
    error, _ = await receive_until(socket, "error")
    assert error["code"] == "rate_limited" and error["before"] == oldest and error["retry_after"] > 0
    # Sending messages is limited separately and still works.
    await socket.send_json_to({"type": "message", "body": "still talking", "client_id": "c1"})
    message, _ = await receive_until(socket, "message")
    assert message["body"] == "still talking"
