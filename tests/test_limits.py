"""Limits a visitor runs into: unknown room codes per IP (form, room page, websocket) and floods."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from rooms.models import Message
from rooms.realtime.hub import stop_hubs
from rooms.services.admission import client_ip
from rooms.services.rooms import create_room
from tests.support.ws import refusal, room_socket, settled

LOCKED_OUT = "Too many attempts with unknown room codes; try again in"


@pytest.fixture(autouse=True)
def small_join_limit(settings):
    settings.JOIN_MISS_LIMIT = 3
    settings.JOIN_MISS_WINDOW_SECONDS = 60


def join_by_form(code, ip="10.0.0.1", **extra):
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR=ip)
    browser.get("/")
    token = browser.cookies["csrftoken"].value
    return browser.post("/", {"name": "Mallory", "code": code, "join": "", "csrfmiddlewaretoken": token}, **extra)


@pytest.mark.django_db
def test_the_form_refuses_joins_after_too_many_unknown_codes_even_for_a_real_room():
    room = create_room()
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        page = join_by_form(guess).content.decode()
        assert f"There is no room with code {guess}." in page
    locked = join_by_form(room.code)
    assert locked.status_code == 200
    page = locked.content.decode()
    assert LOCKED_OUT in page
    assert "try again in 60 seconds" in page or "try again in 59 seconds" in page
    assert f'value="{room.code}"' in page  # the typed code is kept
    # Another address is not affected.
    assert join_by_form(room.code, ip="10.0.0.2").status_code == 302


@pytest.mark.django_db
def test_the_lock_out_ends_when_the_window_has_passed(monkeypatch):
    room = create_room()
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        join_by_form(guess)
    assert LOCKED_OUT in join_by_form(room.code).content.decode()
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)  # the cache expires its counters by this clock too
    assert join_by_form(room.code).status_code == 302


@pytest.mark.django_db
def test_joining_a_real_room_does_not_count_as_a_miss():
    room = create_room()
    for _ in range(5):
        assert join_by_form(room.code.lower()).status_code == 302


@pytest.mark.django_db
def test_unknown_codes_in_room_links_count_too():
    browser = Client(REMOTE_ADDR="10.0.0.3")
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        response = browser.get(f"/rooms/{guess}/", follow=True)
        assert f"There is no room with code {guess}." in response.content.decode()
    room = create_room()
    response = browser.get(f"/rooms/{room.code}/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert LOCKED_OUT in response.content.decode()


@pytest.mark.django_db
def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(settings):
    for number, guess in enumerate(("AAAAAA", "BBBBBB", "CCCCCC")):
        join_by_form(guess, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    # Forging a new X-Forwarded-For for each guess does not reset the count of the real address.
    assert LOCKED_OUT in join_by_form("DDDDDD", HTTP_X_FORWARDED_FOR="192.0.2.99").content.decode()

    settings.TRUSTED_PROXY_COUNT = 1
    # Behind one trusted proxy, the proxy's REMOTE_ADDR is shared and the last hop is the client.
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        join_by_form(guess, ip="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    page = join_by_form("DDDDDD", ip="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7").content.decode()
    assert LOCKED_OUT in page  # a forged left-most entry does not help
    page = join_by_form("DDDDDD", ip="10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.8").content.decode()
    assert "There is no room with code DDDDDD." in page  # a different client behind the same proxy


def test_client_ip_reads_forwarded_for_only_from_trusted_proxies(settings):
    assert client_ip("10.0.0.1", "1.1.1.1") == "10.0.0.1"
    assert client_ip(None, None) == "unknown"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip("10.0.0.1", "9.9.9.9, 1.1.1.1, 10.0.0.2") == "1.1.1.1"
    assert client_ip("10.0.0.1", "1.1.1.1") == "1.1.1.1"
    assert client_ip("10.0.0.1", " , ") == "10.0.0.1"


# --- websocket --------------------------------------------------------------------------------


async def open_from(code, session_key, ip):
    communicator = room_socket(code, session_key)
    communicator.scope["client"] = (ip, 50000)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_websocket_joins_of_unknown_rooms_are_limited_per_ip(session_for):
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Mallory")
    try:
        for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
            frame, close_code = await refusal(await open_from(guess, key, "10.1.1.1"))
            assert (frame["code"], close_code) == ("room_not_found", 4004)
        frame, close_code = await refusal(await open_from(room.code, key, "10.1.1.1"))
        assert frame["code"] == "rate_limited"
        assert frame["detail"].startswith(LOCKED_OUT)
        assert 1 <= frame["retry_after"] <= 60
        assert close_code == 4029
        # Another address still gets in.
        other = await open_from(room.code, key, "10.1.1.2")
        assert (await other.receive_json_from(timeout=2))["type"] == "history"
        await other.disconnect()
    finally:
        await stop_hubs()


@pytest.mark.django_db(transaction=True)
async def test_misses_on_the_form_and_the_websocket_share_one_count(session_for):
    key = await database_sync_to_async(session_for)("Mallory")
    try:
        for guess in ("AAAAAA", "BBBBBB"):
            await database_sync_to_async(join_by_form)(guess, ip="10.2.2.2")
        await refusal(await open_from("CCCCCC", key, "10.2.2.2"))
        frame, close_code = await refusal(await open_from("DDDDDD", key, "10.2.2.2"))
        assert (frame["code"], close_code) == ("rate_limited", 4029)
        page = (await database_sync_to_async(join_by_form)("EEEEEE", ip="10.2.2.2")).content.decode()
        assert LOCKED_OUT in page
    finally:
        await stop_hubs()


@pytest.mark.django_db(transaction=True)
async def test_a_member_gets_back_into_his_room_while_a_stranger_on_his_address_is_locked_out():
    """An office or a carrier's NAT shares one address: a stranger's guessing must not lock a
    member out of the room he is in, but it still stops that address from probing codes."""
    room = await database_sync_to_async(create_room)()
    member = Client(REMOTE_ADDR="10.3.3.3")
    await database_sync_to_async(member.post)(f"/rooms/{room.code}/", {"name": "Ann"})
    assert (await database_sync_to_async(member.get)(f"/rooms/{room.code}/")).status_code == 200
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        await database_sync_to_async(join_by_form)(guess, ip="10.3.3.3")
    try:
        # Ann's page reloads and reconnects from the same address.
        assert (await database_sync_to_async(member.get)(f"/rooms/{room.code}/")).status_code == 200
        ann = await open_from(room.code, member.cookies["sessionid"].value, "10.3.3.3")
        assert (await ann.receive_json_from(timeout=2))["type"] == "history"
        await ann.disconnect()
        # A newcomer on that address, even with the right code, is refused like any guess.
        assert LOCKED_OUT in (await database_sync_to_async(join_by_form)(room.code, ip="10.3.3.3")).content.decode()
    finally:
        await stop_hubs()


# --- message floods ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_flood_in_one_room_is_refused_while_another_room_chats(settings, session_for, open_socket):
    settings.MESSAGE_RATE_PER_SECOND = 0.01  # no refill during the test: the burst is all it gets
    settings.MESSAGE_RATE_BURST = 5
    flood_room, quiet_room = await database_sync_to_async(lambda: (create_room(), create_room()))()
    mallory, bob, cat = [await database_sync_to_async(session_for)(n) for n in ("Mallory", "Bob", "Cat")]
    flooder = await open_socket(flood_room.code, mallory)
    bob_socket = await open_socket(quiet_room.code, bob)
    cat_socket = await open_socket(quiet_room.code, cat)
    for communicator in (flooder, bob_socket, cat_socket):
        await settled(communicator)

    flood_size = 2000

    async def flood():
        for number in range(flood_size):
            await flooder.send_json_to({"type": "message", "body": f"spam {number}", "client_id": f"s{number}"})

    async def chat():
        for number in range(5):
            await bob_socket.send_json_to({"type": "message", "body": f"hi {number}", "client_id": f"b{number}"})
            await asyncio.sleep(0)

    await asyncio.gather(flood(), chat())
    # Cat, in the other room, gets every one of Bob's messages, in order...
    bodies = []
    while len(bodies) < 5:
        frame = await cat_socket.receive_json_from(timeout=5)
        if frame["type"] == "message":
            bodies.append(frame["body"])
    assert bodies == [f"hi {n}" for n in range(5)]

    # ...while the flooder's frames beyond the burst are refused one by one, naming each message.
    answers = {"message": 0, "rate_limited": 0}
    refused_ids = []
    while sum(answers.values()) < flood_size:
        frame = await flooder.receive_json_from(timeout=5)
        if frame["type"] == "message":
            answers["message"] += 1
        elif frame.get("code") == "rate_limited":
            answers["rate_limited"] += 1
            refused_ids.append(frame["client_id"])
            assert frame["retry_after"] > 0
    assert answers == {"message": 5, "rate_limited": flood_size - 5}
    assert refused_ids[:2] == ["s5", "s6"]
    stored = await database_sync_to_async(lambda: Message.objects.filter(room=flood_room).count())()
    assert stored == 5
    quiet_stored = await database_sync_to_async(lambda: Message.objects.filter(room=quiet_room).count())()
    assert quiet_stored == 5
