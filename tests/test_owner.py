"""Owner controls: ownership, owner link, transfer, kick, mute, lock."""

import asyncio
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone

from rooms.errors import ChatError
from rooms.limits import page_limits
from rooms.models import Message, Room
from rooms.protocol import author_tag
from rooms.realtime.hub import get_hub
from rooms.services.commands import command_list
from rooms.services.messages import author_key_of, post_message
from rooms.services.moderation import is_owner, set_expiry, set_passphrase
from rooms.services.rooms import create_room
from tests.support.ws import joined, receive_until, send
from tests.test_transcripts import read_all

pytestmark = pytest.mark.django_db(transaction=True)


# --- views ------------------------------------------------------------------------------------


def test_creator_owns_the_room_and_sees_badge_and_owner_link(client):
    response = client.post("/", {"name": "Ada", "create": ""})
    code = response.url.strip("/").split("/")[-1]
    page = client.get(response.url)
    config = page.context["config"]
    assert config["owner"] is True
    assert f"/rooms/{code}/own/" in config["owner_link"]
    room = Room.objects.get(code=code)
    key = config["owner_link"].rstrip("/").split("/")[-1]
    assert room.owner_key_hash and key not in room.owner_key_hash  # only the hash is stored
    assert is_owner(room, key)


def test_joiner_is_not_owner(client, owned_room):
    room, _, _ = owned_room
    client.post("/", {"name": "Bob", "code": room.code, "join": ""})
    config = client.get(f"/rooms/{room.code}/").context["config"]
    assert config.pop("limits") == page_limits()
    assert config.pop("commands") == command_list()
    assert config == {
        "code": room.code,
        "name": "Bob",
        "author": author_tag(room.id, author_key_of(client.session.session_key)),
        "owner": False,
        "expires_at": None,
        "encryption": None,  # a plain room (docs/e2ee.md)
    }


def test_owner_link_claims_ownership_in_another_browser(client, owned_room):
    room, key, _ = owned_room
    client.post("/", {"name": "Ada", "code": room.code, "join": ""})
    response = client.get(reverse("rooms:claim_owner", kwargs={"code": room.code, "key": key}))
    assert response.status_code == 302 and response.url == f"/rooms/{room.code}/"
    assert client.get(response.url).context["config"]["owner"] is True


def test_wrong_owner_link_is_refused(client, owned_room):
    room, _, _ = owned_room
    client.post("/", {"name": "Eve", "code": room.code, "join": ""})
    response = client.get(reverse("rooms:claim_owner", kwargs={"code": room.code, "key": "guess"}), follow=True)
    assert "not valid" in response.content.decode()
    assert client.get(f"/rooms/{room.code}/").context["config"]["owner"] is False


# --- websocket: state, transfer -----------------------------------------------------------


async def test_owner_is_told_on_join_and_others_are_not(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    state, _ = await receive_until(owner, "room_state")
    assert state == {"type": "room_state", "owner": True, "locked": False, "muted_until": None, "expires_at": None}
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await send(bob, "hi")
    frame, seen = await receive_until(bob, "message")
    assert not [f for f in seen if f["type"] == "room_state"]


async def test_transfer_hands_ownership_to_a_present_member(open_socket, owned_room):
    room, key, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await owner.send_json_to({"type": "transfer", "to": "Bob"})
    state, _ = await receive_until(bob, "room_state")
    assert state["owner"] is True
    notice, seen = await receive_until(owner, "system", event="owner")
    assert notice["name"] == "Bob" and notice["by"] == "Ada"
    assert {"type": "room_state", "owner": False} in seen
    assert not await database_sync_to_async(is_owner)(room, key)  # the old key is dead
    # The new owner can act; the old owner is now forbidden.
    await owner.send_json_to({"type": "lock", "locked": True})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "forbidden"
    await bob.send_json_to({"type": "lock", "locked": True})
    notice, _ = await receive_until(owner, "system", event="lock")
    assert notice["name"] == "Bob"


async def test_transfer_to_someone_absent_is_an_error(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    await owner.send_json_to({"type": "transfer", "to": "Nobody"})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "not_present"


# --- websocket: moderation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "kick", "name": "Ada"},
        {"type": "mute", "name": "Ada", "minutes": 5},
        {"type": "lock", "locked": True},
        {"type": "transfer", "to": "Bob"},
    ],
)
async def test_non_owner_is_forbidden(open_socket, owned_room, frame):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await bob.send_json_to(frame)
    error, _ = await receive_until(bob, "error")
    assert error["code"] == "forbidden"
    # Nothing happened: Ada can still talk, the room is not locked.
    await send(owner, "still here")
    message, _ = await receive_until(bob, "message")
    assert message["body"] == "still here"
    assert not (await database_sync_to_async(Room.objects.get)(pk=room.pk)).locked


async def test_kick_closes_sockets_and_blocks_rejoin(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob_session = await database_sync_to_async(session)("Bob")
    bob, _ = await joined(open_socket, room.code, bob_session)
    bob_tab2, _ = await joined(open_socket, room.code, bob_session)
    await owner.send_json_to({"type": "kick", "name": "Bob"})
    notice, _ = await receive_until(owner, "system", event="kick")
    assert notice["name"] == "Bob" and notice["by"] == "Ada"
    for socket in (bob, bob_tab2):
        error, _ = await receive_until(socket, "error")
        assert error["code"] == "kicked"
        assert (await socket.receive_output(timeout=2))["type"] == "websocket.close"
    again = await open_socket(room.code, bob_session)
    error = await again.receive_json_from(timeout=2)
    assert error["code"] == "kicked" and error["retry_after"] > 0
    assert (await again.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4011}
    # Someone else still joins.
    await joined(open_socket, room.code, await database_sync_to_async(session)("Cy"))


async def test_mute_refuses_sends_but_still_delivers(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await owner.send_json_to({"type": "mute", "name": "Bob", "minutes": 5})
    notice, _ = await receive_until(bob, "system", event="mute")
    assert notice["name"] == "Bob" and notice["minutes"] == 5
    state, _ = await receive_until(bob, "room_state")
    assert state["muted_until"]
    await send(bob, "can I talk?", client_id="c1")
    error, _ = await receive_until(bob, "error")
    assert error["code"] == "muted" and error["client_id"] == "c1"
    await send(owner, "you can read")
    message, _ = await receive_until(bob, "message")
    assert message["body"] == "you can read"
    # A reconnect stays muted (the mute is stored, not just held by the socket).
    await bob.disconnect()
    bob, _ = await joined(open_socket, room.code, await _session_of(room, "Bob"))
    state, _ = await receive_until(bob, "room_state")
    assert state["muted_until"]
    await send(bob, "now?")
    error, _ = await receive_until(bob, "error")
    assert error["code"] == "muted"


async def test_a_muted_member_cannot_edit_rename_react_or_type(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await send(bob, "before the mute", client_id="b1")
    message, _ = await receive_until(owner, "message", body="before the mute")
    await owner.send_json_to({"type": "mute", "name": "Bob", "minutes": 5})
    await receive_until(bob, "room_state")
    for frame in [
        {"type": "edit", "id": message["id"], "body": "rewritten while muted"},
        {"type": "rename", "name": "Robert"},
        {"type": "react", "id": message["id"], "emoji": "👍"},
    ]:
        await bob.send_json_to(frame)
        error, _ = await receive_until(bob, "error")
        assert error["code"] == "muted" and error["until"], frame
    await bob.send_json_to({"type": "typing"})  # dropped silently
    await bob.send_json_to({"type": "ping"})
    await receive_until(bob, "pong")
    # The owner saw none of it: the next thing after the mute notices is the owner's own message.
    await send(owner, "checkpoint")
    _, seen = await receive_until(owner, "message", body="checkpoint")
    assert not [f for f in seen if f["type"] in ("message_changed", "typing") or f.get("event") == "rename"], seen
    assert await database_sync_to_async(lambda: Message.objects.get(pk=message["id"]).body)() == "before the mute"


@database_sync_to_async
def _session_of(room, name):
    from rooms.models import RoomSanction

    return RoomSanction.objects.filter(room=room, kind="mute").values_list("session_key", flat=True).first()


@pytest.mark.parametrize("minutes", [0, -1, 24 * 60 + 1, "5", True, None])
async def test_mute_minutes_are_checked(open_socket, owned_room, minutes):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await owner.send_json_to({"type": "mute", "name": "Bob", "minutes": minutes})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "invalid_minutes"


async def test_lock_keeps_members_and_refuses_newcomers(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob_session = await database_sync_to_async(session)("Bob")
    bob, _ = await joined(open_socket, room.code, bob_session)
    await owner.send_json_to({"type": "lock", "locked": True})
    notice, _ = await receive_until(bob, "system", event="lock")
    assert notice["name"] == "Ada"
    state, _ = await receive_until(bob, "room_state")
    assert state == {"type": "room_state", "locked": True}
    newcomer = await open_socket(room.code, await database_sync_to_async(session)("Cy"))
    error = await newcomer.receive_json_from(timeout=2)
    assert error["code"] == "locked"
    assert (await newcomer.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4023}
    # A present member opening a second tab is not new; the owner always gets in.
    await joined(open_socket, room.code, bob_session)
    await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    await owner.send_json_to({"type": "lock", "locked": False})
    await receive_until(bob, "system", event="unlock")
    await joined(open_socket, room.code, await database_sync_to_async(session)("Cy"))


# --- passphrase -------------------------------------------------------------------------------


def _create(client, **fields):
    response = client.post("/", {"name": "Ada", "create": "", **fields})
    return response.url.strip("/").split("/")[-1]


def test_room_created_with_passphrase_asks_joiners_for_it(client):
    from django.test import Client

    code = _create(client, passphrase="open sesame")
    room = Room.objects.get(code=code)
    assert room.passphrase_hash and "open sesame" not in room.passphrase_hash
    # The creator goes straight in.
    assert client.get(f"/rooms/{code}/").context["config"]["owner"] is True
    guest = Client()
    guest.post("/", {"name": "Bob", "code": code, "join": ""})
    page = guest.get(f"/rooms/{code}/")
    assert "needs a passphrase" in page.content.decode() and "config" not in page.context
    wrong = guest.post(f"/rooms/{code}/passphrase/", {"passphrase": "open"})
    assert "That passphrase is not right." in wrong.content.decode()
    right = guest.post(f"/rooms/{code}/passphrase/", {"passphrase": "open sesame"})
    assert right.status_code == 302 and right.url == f"/rooms/{code}/"
    assert guest.get(f"/rooms/{code}/").context["config"]["name"] == "Bob"


def test_room_without_passphrase_needs_none(client):
    from django.test import Client

    code = _create(client)
    guest = Client()
    guest.post("/", {"name": "Bob", "code": code, "join": ""})
    assert guest.get(f"/rooms/{code}/").context["config"]["name"] == "Bob"


def test_passphrase_guessing_is_rate_limited_per_ip(client, settings):
    from django.test import Client

    settings.JOIN_MISS_LIMIT = 3
    code = _create(client, passphrase="right one")
    guest = Client()
    guest.post("/", {"name": "Bob", "code": code, "join": ""})
    for guess in ("a", "b", "c"):
        assert "not right" in guest.post(f"/rooms/{code}/passphrase/", {"passphrase": guess}).content.decode()
    # Locked out: even the right passphrase is refused for now (like any join by code, on the home page).
    page = guest.post(f"/rooms/{code}/passphrase/", {"passphrase": "right one"}, follow=True).content.decode()
    assert "Too many attempts" in page
    # The room page refuses this IP for now as well (the join limiter), and Bob is not admitted.
    assert guest.get(f"/rooms/{code}/").url == "/"
    assert code not in guest.session.get("admitted_rooms", [])


async def test_socket_without_passphrase_is_refused(open_socket, owned_room):
    room, key, session = owned_room
    await database_sync_to_async(set_passphrase)(room, key, "secret")
    socket = await open_socket(room.code, await database_sync_to_async(session)("Bob"))
    error = await socket.receive_json_from(timeout=2)
    assert error["code"] == "passphrase_required"
    assert (await socket.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4013}
    # The owner needs none.
    await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))


async def test_owner_sets_passphrase_later_and_others_cannot(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await bob.send_json_to({"type": "passphrase", "passphrase": "mine"})
    error, _ = await receive_until(bob, "error")
    assert error["code"] == "forbidden"
    await owner.send_json_to({"type": "passphrase", "passphrase": "x" * 201})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "invalid_passphrase"
    await owner.send_json_to({"type": "passphrase", "passphrase": "now secret"})
    notice, _ = await receive_until(bob, "system", event="passphrase_set")
    assert notice["name"] == "Ada"
    fresh = await database_sync_to_async(Room.objects.get)(pk=room.pk)
    assert fresh.passphrase_hash.startswith(("pbkdf2", "argon2", "md5", "scrypt", "bcrypt"))
    # Bob, present, keeps chatting; a newcomer is refused.
    await send(bob, "still in")
    await receive_until(owner, "message", body="still in")
    newcomer = await open_socket(room.code, await database_sync_to_async(session)("Cy"))
    assert (await newcomer.receive_json_from(timeout=2))["code"] == "passphrase_required"
    await owner.send_json_to({"type": "passphrase", "passphrase": ""})
    await receive_until(bob, "system", event="passphrase_removed")
    await joined(open_socket, room.code, await database_sync_to_async(session)("Cy"))


async def test_members_present_when_the_passphrase_is_set_come_back_without_it(open_socket, owned_room):
    from django.test import Client

    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob_key = await database_sync_to_async(session)("Bob")
    bob, _ = await joined(open_socket, room.code, bob_key)
    await owner.send_json_to({"type": "passphrase", "passphrase": "for new members"})
    await receive_until(bob, "system", event="passphrase_set")

    def open_room_page(session_key):
        browser = Client()
        browser.cookies["sessionid"] = session_key
        return browser.get(f"/rooms/{room.code}/").content.decode()

    # Bob reloads: he is still in the room, with no passphrase asked; a newcomer is asked for it.
    page = await database_sync_to_async(open_room_page)(bob_key)
    assert 'id="messages"' in page and "needs a passphrase" not in page
    await bob.disconnect()
    await joined(open_socket, room.code, bob_key)
    cy_key = await database_sync_to_async(session)("Cy")
    assert "needs a passphrase" in await database_sync_to_async(open_room_page)(cy_key)
    # Removing the passphrase forgets who was present; setting it again admits those present then.
    await owner.send_json_to({"type": "passphrase", "passphrase": ""})
    await receive_until(owner, "system", event="passphrase_removed")
    assert (await database_sync_to_async(Room.objects.get)(pk=room.pk)).admitted_with_passphrase == []


async def test_a_flood_of_owner_frames_is_rate_limited(open_socket, owned_room, settings):
    settings.OWNER_RATE_BURST = 3
    settings.OWNER_RATE_PER_SECOND = 0.5
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    for _ in range(5):
        await owner.send_json_to({"type": "passphrase", "passphrase": ""})  # no hash: a quick test
    error, seen = await receive_until(owner, "error", timeout=10)
    assert error["code"] == "rate_limited" and 0 < error["retry_after"] <= 2
    assert len([f for f in seen if f.get("event") == "passphrase_removed"]) == 3
    # Any owner frame counts, and a non-owner's too (each costs a database call).
    await owner.send_json_to({"type": "lock", "locked": True})
    assert (await receive_until(owner, "error"))[0]["code"] == "rate_limited"


async def test_passphrase_hashing_does_not_hold_up_messages(open_socket, owned_room):
    room, _, session = owned_room
    ada = await database_sync_to_async(session)("Ada", owner=True)
    owner_tabs = [(await joined(open_socket, room.code, ada))[0] for _ in range(8)]
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    for tab in owner_tabs:
        for number in range(2):
            await tab.send_json_to({"type": "passphrase", "passphrase": f"secret {number}"})
    await asyncio.sleep(0.1)  # the hashes are under way
    started = time.monotonic()
    await send(bob, "still flowing", client_id="b1")
    _, seen = await receive_until(bob, "message", timeout=30, body="still flowing")
    assert time.monotonic() - started < 2
    # Every passphrase was set all the same.
    notices = len([f for f in seen if f.get("event") == "passphrase_set"])
    for _ in range(16 - notices):
        await receive_until(bob, "system", timeout=30, event="passphrase_set")


# --- transcript -------------------------------------------------------------------------------


def test_member_downloads_transcript_as_text_and_json(client):
    import json

    code = _create(client, title="Plans")
    room = Room.objects.get(code=code)
    post_message(room, "Ada", "hello <b>all</b>")
    post_message(room, "Bob", "hi Ada")
    text = client.get(f"/rooms/{code}/transcript.text")
    assert text["Content-Type"].startswith("text/plain")
    assert f"roomchat-{code}.txt" in text["Content-Disposition"]
    body = read_all(text).decode()
    assert "hello <b>all</b>" in body and "hi Ada" in body
    data = json.loads(read_all(client.get(f"/rooms/{code}/transcript.json")))
    bodies = [m["body"] for r in data["rooms"] for m in r["messages"]]
    assert bodies == ["hello <b>all</b>", "hi Ada"]


def test_transcript_refused_without_name_passphrase_or_bad_format(client):
    from django.test import Client

    code = _create(client, passphrase="pw")
    assert Client().get(f"/rooms/{code}/transcript.text").status_code == 404  # no name: not a member
    guest = Client()
    guest.post("/", {"name": "Bob", "code": code, "join": ""})
    assert guest.get(f"/rooms/{code}/transcript.text").status_code == 403
    assert client.get(f"/rooms/{code}/transcript.xml").status_code == 404
    assert client.get("/rooms/NOPE99/transcript.text").status_code == 404


def _browser(session_key):
    from django.test import Client

    browser = Client()
    browser.cookies["sessionid"] = session_key
    return browser


def test_a_locked_room_shows_newcomers_neither_its_page_nor_its_transcript(owned_room):
    from rooms.services.moderation import set_locked

    room, key, session = owned_room
    post_message(room, "Ada", "private plans")
    set_locked(room, key, True)
    stranger = _browser(session("Eve"))
    assert stranger.get(f"/rooms/{room.code}/transcript.text").status_code == 403
    assert stranger.get(f"/rooms/{room.code}/transcript.json").status_code == 403
    page = stranger.get(f"/rooms/{room.code}/", follow=True)
    assert page.redirect_chain[0][1] == 302 and "This room is locked" in page.content.decode()
    # The owner still gets both.
    owner = _browser(session("Ada", owner=True))
    assert b"private plans" in read_all(owner.get(f"/rooms/{room.code}/transcript.text"))
    assert owner.get(f"/rooms/{room.code}/").status_code == 200


def test_a_kicked_session_gets_neither_the_room_page_nor_the_passphrase_prompt(owned_room):
    from rooms.models import RoomSanction

    room, key, session = owned_room
    set_passphrase(room, key, "pw")
    bob_key = session("Bob")
    until = timezone.now() + timedelta(minutes=9)
    RoomSanction.objects.create(room=room, session_key=bob_key, kind="kick", until=until)
    bob = _browser(bob_key)
    assert "removed you" in bob.get(f"/rooms/{room.code}/", follow=True).content.decode()
    answer = bob.post(f"/rooms/{room.code}/passphrase/", {"passphrase": "pw"}, follow=True)
    assert "removed you" in answer.content.decode()
    assert bob.get(f"/rooms/{room.code}/transcript.text").status_code == 403


@pytest.mark.parametrize("probe", ["transcript", "passphrase"])
def test_probing_codes_through_transcripts_or_the_passphrase_form_counts_as_misses(probe, owned_room, settings):
    settings.JOIN_MISS_LIMIT = 3
    room, _, session = owned_room
    prober = _browser(session("Eve"))
    for code in ("AAAAAA", "BBBBBB", "CCCCCC"):
        if probe == "transcript":
            assert prober.get(f"/rooms/{code}/transcript.text").status_code == 404
        else:
            prober.post(f"/rooms/{code}/passphrase/", {"passphrase": "x"})
    # Locked out: a real code is refused like an unknown one, so probing tells nothing.
    if probe == "transcript":
        assert prober.get(f"/rooms/{room.code}/transcript.text").status_code == 403
    else:
        answer = prober.post(f"/rooms/{room.code}/passphrase/", {"passphrase": "x"}, follow=True)
        assert "Too many attempts" in answer.content.decode()


# --- expiry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [0, 721, -5, "2", True, 1.5])
def test_expiry_must_be_one_hour_to_thirty_days(owned_room, hours):
    room, key, _ = owned_room
    with pytest.raises(ChatError) as error:
        set_expiry(room, key, hours)
    assert error.value.code == "invalid_expiry"


def test_only_owner_sets_expiry(owned_room):
    room, _, _ = owned_room
    with pytest.raises(ChatError) as error:
        set_expiry(room, "not the key", 2)
    assert error.value.code == "forbidden"


def test_purge_rooms_command_deletes_expired_rooms(owned_room):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    room, key, _ = owned_room
    keep = create_room()
    post_message(keep, "Ada", "recent")
    post_message(room, "Ada", "bye")
    set_expiry(room, key, 1)
    call_command("purge_rooms", stdout=open("/dev/null", "w"))
    assert Room.objects.filter(pk=room.pk).exists()  # not yet
    Room.objects.filter(pk=room.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("purge_rooms", stdout=open("/dev/null", "w"))
    assert not Room.objects.filter(pk=room.pk).exists()
    assert Room.objects.filter(pk=keep.pk).exists()


async def test_expiry_is_announced_and_heartbeat_closes_expired_room(open_socket, owned_room):
    from datetime import timedelta

    from django.utils import timezone

    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await bob.send_json_to({"type": "expiry", "hours": 2})
    error, _ = await receive_until(bob, "error")
    assert error["code"] == "forbidden"
    await owner.send_json_to({"type": "expiry", "hours": 2})
    notice, _ = await receive_until(bob, "system", event="expiry")
    assert notice["name"] == "Ada" and notice["expires_at"]
    state, _ = await receive_until(bob, "room_state")
    assert state["expires_at"] == notice["expires_at"]
    await database_sync_to_async(Room.objects.filter(pk=room.pk).update)(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    await get_hub().heartbeat.close_expired_rooms()
    for socket in (owner, bob):
        error, _ = await receive_until(socket, "error")
        assert error["code"] == "room_expired"
        assert (await socket.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4012}
    assert not await database_sync_to_async(Room.objects.filter(pk=room.pk).exists)()
