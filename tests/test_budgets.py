"""Budgets per session and per address, whatever connection they come through: one session's many
sockets share one send budget; new sessions, room creation and socket opens are limited per IP or
session; a cache outage switches the limits off rather than chat."""

import asyncio
import logging
import os
import secrets
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from rooms.models import Message, Room
from rooms.realtime.hub import stop_hubs
from rooms.services.budget_windows import LocalWindows, SharedWindows
from rooms.services.budgets import loop_redis
from rooms.services.rooms import create_room
from tests.live_server import free_port
from tests.support.ws import refusal, room_socket, settled

pytestmark = pytest.mark.django_db(transaction=True)


def create_by_form(ip):
    browser = Client(REMOTE_ADDR=ip)
    return browser.post("/", {"name": "Mallory", "create": ""})


async def connect(code, session_key, ip="10.5.5.5"):
    communicator = room_socket(code, session_key)
    communicator.scope["client"] = (ip, 50000)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def answers(communicator, count, timeout=5):
    """The next `count` answers to sent frames: stored messages and errors."""
    seen = []
    while len(seen) < count:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] in ("message", "error"):
            seen.append(frame)
    return seen


async def test_many_sockets_of_one_session_share_one_message_budget(settings, session_for):
    await five_sockets_send_one_burst(settings, session_for)


@pytest.fixture
def redis_cache(settings):
    """The limiter on the real Redis (REDIS_URL), under a key prefix of this test's own."""
    settings.CACHES = {
        **settings.CACHES,  # the rendered fragments' cache stays
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"budget-test-{secrets.token_hex(4)}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }


@pytest.mark.production
async def test_many_sockets_of_one_session_share_one_message_budget_in_redis(redis_cache, settings, session_for):
    await five_sockets_send_one_burst(settings, session_for)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    counters = [key async for key in loop_redis().scan_iter(f"{prefix}:*:rooms:budget:send:*")]
    assert len(counters) == 1  # one counter in Redis for the session's sockets, not one per process
    assert await loop_redis().get(counters[0]) == b"25"
    assert 0 < await loop_redis().ttl(counters[0]) <= 11


async def five_sockets_send_one_burst(settings, session_for):
    settings.MESSAGE_RATE_PER_SECOND = 0.01  # no refill during the test
    settings.MESSAGE_RATE_BURST = 5
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Mallory")
    sockets = [await settled(await connect(room.code, key)) for _ in range(5)]
    try:
        for number, communicator in enumerate(sockets):
            for each in range(5):
                await communicator.send_json_to({"type": "message", "body": "spam", "client_id": f"{number}-{each}"})
        refused = []
        for communicator in sockets:
            while not await communicator.receive_nothing(timeout=0.5):
                frame = await communicator.receive_json_from()
                if frame["type"] == "error":
                    refused.append(frame)
        stored = await database_sync_to_async(Message.objects.filter(room=room).count)()
        assert stored == 5  # one socket's burst, not five
        assert len(refused) == 20
        assert {frame["code"] for frame in refused} == {"rate_limited"}
        assert all(frame["retry_after"] >= 1 and frame["client_id"] for frame in refused)
    finally:
        for communicator in sockets:
            await communicator.disconnect()
        await stop_hubs()


async def test_renames_from_many_sockets_share_the_session_budget(settings, session_for):
    settings.MESSAGE_RATE_PER_SECOND = 0.01
    settings.MESSAGE_RATE_BURST = 2
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Mallory")
    sockets = [await settled(await connect(room.code, key)) for _ in range(4)]
    try:
        for number, communicator in enumerate(sockets):
            await communicator.send_json_to({"type": "rename", "name": f"M{number}"})
        refused, renamed_to = [], set()
        for communicator in sockets:
            # Every socket of the session hears each of its renames; only its own refusals.
            while not await communicator.receive_nothing(timeout=0.5):
                frame = await communicator.receive_json_from()
                if frame["type"] == "error":
                    refused.append(frame["code"])
                elif frame["type"] == "system" and frame.get("event") == "rename":
                    renamed_to.add(frame["new"])
        assert refused == ["rate_limited", "rate_limited"]
        assert len(renamed_to) == 2  # the session's budget, not one per socket
    finally:
        for communicator in sockets:
            await communicator.disconnect()
        await stop_hubs()


def test_room_creation_is_limited_per_ip(settings):
    settings.ROOM_CREATE_PER_IP_PER_HOUR = 3
    for _ in range(3):
        assert create_by_form("10.6.6.6").status_code == 302
    refused = create_by_form("10.6.6.6")
    assert refused.status_code == 200
    assert "Too many rooms were created from your address lately; try again in" in refused.content.decode()
    assert Room.objects.count() == 3
    assert create_by_form("10.6.6.7").status_code == 302  # another address is not affected


def test_new_sessions_joining_from_one_ip_are_limited_but_admitted_ones_come_back(settings):
    settings.NEW_JOINS_PER_IP_PER_MINUTE = 2
    room = create_room()
    browsers = [Client(REMOTE_ADDR="10.7.7.7") for _ in range(3)]
    for browser in browsers:
        browser.post(f"/rooms/{room.code}/", {"name": f"Visitor {id(browser)}"})
    assert browsers[0].get(f"/rooms/{room.code}/").status_code == 200
    assert browsers[1].get(f"/rooms/{room.code}/").status_code == 200
    third = browsers[2].get(f"/rooms/{room.code}/", follow=True)
    assert third.redirect_chain[-1][0] == "/"
    assert "Too many new visitors joined from your address lately" in third.content.decode()
    # Those already admitted reload freely.
    for _ in range(3):
        assert browsers[0].get(f"/rooms/{room.code}/").status_code == 200


async def test_socket_opens_are_limited_per_session(settings, session_for):
    settings.WS_CONNECTS_PER_SESSION_PER_MINUTE = 3
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Mallory")
    try:
        for _ in range(3):
            communicator = await settled(await connect(room.code, key))
            await communicator.disconnect()
        frame, close_code = await refusal(await connect(room.code, key))
        assert (frame["code"], close_code) == ("rate_limited", 4029)
        assert 1 <= frame["retry_after"] <= 60
        other = await database_sync_to_async(session_for)("Bob")
        await (await settled(await connect(room.code, other))).disconnect()
    finally:
        await stop_hubs()


async def test_a_foreign_page_cannot_spend_a_members_socket_budget(settings, session_for):
    settings.WS_CONNECTS_PER_SESSION_PER_MINUTE = 2
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Ann")
    try:
        for _ in range(3):  # another port of the same host: the browser sends Ann's cookie along
            communicator = room_socket(room.code, key, origin="http://127.0.0.1:19399")
            communicator.scope["client"] = ("10.2.0.1", 50000)
            assert (await communicator.connect())[0]
            frame, close_code = await refusal(communicator)
            assert (frame["code"], close_code) == ("forbidden_origin", 4003)
        await (await settled(await connect(room.code, key, ip="10.2.0.1"))).disconnect()
    finally:
        await stop_hubs()


async def test_socket_opens_are_limited_per_ip_whatever_the_session(settings, session_for):
    settings.WS_CONNECTS_PER_IP_PER_MINUTE = 3
    room = await database_sync_to_async(create_room)()
    try:
        for number in range(3):
            key = await database_sync_to_async(session_for)(f"Jar {number}")
            await (await settled(await connect(room.code, key, ip="10.4.4.4"))).disconnect()
        fresh = await database_sync_to_async(session_for)("Jar 3")
        frame, close_code = await refusal(await connect(room.code, fresh, ip="10.4.4.4"))
        assert (frame["code"], close_code) == ("rate_limited", 4029)
        await (await settled(await connect(room.code, fresh, ip="10.4.4.5"))).disconnect()
    finally:
        await stop_hubs()


async def test_connect_close_churn_joins_only_its_budget_while_another_room_chats(settings, session_for):
    """One session opening and closing sockets in a loop: past its budget each open is refused
    before any database work, and another room's messages keep flowing."""
    settings.WS_CONNECTS_PER_SESSION_PER_MINUTE = 20
    churned, quiet = await database_sync_to_async(lambda: (create_room(), create_room()))()
    mallory, bob, cat = [await database_sync_to_async(session_for)(n) for n in ("Mallory", "Bob", "Cat")]
    bob_socket = await settled(await connect(quiet.code, bob, ip="10.3.0.1"))
    cat_socket = await settled(await connect(quiet.code, cat, ip="10.3.0.2"))
    joins = 0
    try:
        for _ in range(150):
            communicator = await connect(churned.code, mallory)
            frame = await communicator.receive_json_from(timeout=10)
            joins += frame["type"] == "history"
            await communicator.disconnect()
        assert joins == 20
        await bob_socket.send_json_to({"type": "message", "body": "still served", "client_id": "b1"})
        while True:  # a generous bound: the point is that it arrives, not how fast
            frame = await cat_socket.receive_json_from(timeout=10)
            if frame["type"] == "message":
                assert frame["body"] == "still served"
                break
    finally:
        for communicator in (bob_socket, cat_socket):
            await communicator.disconnect()
        await stop_hubs()


async def test_open_sockets_are_capped_per_ip(settings, session_for):
    settings.WS_MAX_CONNECTIONS_PER_IP = 3
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Mallory")
    sockets = [await settled(await connect(room.code, key, ip="10.8.8.8")) for _ in range(3)]
    try:
        frame, close_code = await refusal(await connect(room.code, key, ip="10.8.8.8"))
        assert (frame["code"], close_code) == ("too_many_connections", 4030)
        # Another address gets in; and once one socket closes, so does this one again.
        bob = await database_sync_to_async(session_for)("Bob")
        await (await settled(await connect(room.code, bob, ip="10.8.8.9"))).disconnect()
        await sockets.pop().disconnect()
        sockets.append(await settled(await connect(room.code, key, ip="10.8.8.8")))
    finally:
        for communicator in sockets:
            await communicator.disconnect()
        await stop_hubs()


async def test_an_unknown_websocket_path_is_refused_cleanly():
    communicator = room_socket("ABCDEF")
    communicator.scope["path"] = "/ws/nothing/here/"
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 1008)


# --- the cache fails ---------------------------------------------------------------------------


@pytest.fixture
def dead_cache(settings):
    working = settings.CACHES
    settings.CACHES = {
        **settings.CACHES,  # the rendered fragments' cache stays
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    yield
    settings.CACHES = working


def test_joins_work_when_the_cache_is_down_and_healthz_says_degraded(dead_cache, caplog):
    room = create_room()
    browser = Client(REMOTE_ADDR="10.9.9.9")
    with caplog.at_level(logging.WARNING, logger="rooms.services.budgets"):
        assert browser.post("/", {"name": "Ann", "code": room.code, "join": ""}).status_code == 302
        assert browser.get(f"/rooms/{room.code}/").status_code == 200
        assert browser.post("/", {"name": "Ann", "create": ""}).status_code == 302
        assert browser.get("/rooms/NOSUCH/", follow=True).status_code == 200
    warnings = [record for record in caplog.records if "rate limits are off" in record.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per request
    health = Client().get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["cache"].startswith("degraded: ")
    assert body["degraded"] == ["cache"]
    assert (body["database"], body["channel_layer"]) == ("ok", "ok")


async def test_a_socket_joins_and_sends_when_the_cache_is_down(dead_cache, session_for):
    room = await database_sync_to_async(create_room)()
    key = await database_sync_to_async(session_for)("Ann")
    try:
        communicator = await settled(await connect(room.code, key))
        await communicator.send_json_to({"type": "message", "body": "still here", "client_id": "c1"})
        (frame,) = await answers(communicator, 1)
        assert (frame["type"], frame["body"]) == ("message", "still here")
        await communicator.disconnect()
    finally:
        await stop_hubs()
    await asyncio.sleep(0)


def test_the_limiter_uses_one_cache_backend_from_every_thread_and_context():
    # django.core.cache.cache is one backend per thread and asyncio context: asked from a worker
    # thread it was a new backend (and, with Redis, a new connection) for every message.
    import asyncio
    import threading

    from rooms.services.budgets import limiter_cache

    async def from_worker_threads():
        return await asyncio.gather(*(asyncio.to_thread(limiter_cache) for _ in range(4)))

    backends = {id(backend) for backend in asyncio.run(from_worker_threads())}
    other_thread = []
    thread = threading.Thread(target=lambda: other_thread.append(id(limiter_cache())))
    thread.start()
    thread.join()
    assert backends == set(other_thread) == {id(limiter_cache())}


def test_local_windows_count_per_window_and_forget_ended_ones():
    windows = LocalWindows()
    assert [windows.count(("send", "a"), 100, 10) for _ in range(3)] == [1, 2, 3]
    assert windows.count(("send", "b"), 100, 10) == 1  # another session: its own count
    assert windows.count(("connect", "a"), 60, 60) == 1  # another kind: its own count
    assert windows.count(("send", "a"), 110, 10) == 1  # the next window starts afresh
    windows.prune(115)
    assert set(windows.windows) == {("send", "a"), ("connect", "a")}  # b's window ended at 110


@pytest.mark.production
async def test_shared_windows_count_every_action_whether_sent_to_redis_or_not(redis_cache, settings):
    """Counts go to Redis in batches; between batches, and while one is on its way, the count is
    Redis's last total plus what this process added: never less than the true count."""
    failures = []
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    counters = SharedWindows(loop_redis(), failures.append, lambda: None)
    key, end = f"{prefix}:counter", time.time() + 10
    assert [counters.count(key, end, 11) for _ in range(3)] == [1, 2, 3]
    await loop_redis().incrby(key, 100)  # another process's actions, flushed before ours
    await asyncio.sleep(counters.FLUSH_SECONDS * 3)
    assert counters.count(key, end, 11) == 104  # Redis's total (103) and this one
    counters.start_flush()
    assert counters.count(key, end, 11) == 105  # while the flush is on its way
    await asyncio.sleep(counters.FLUSH_SECONDS * 3)
    assert int(await loop_redis().get(key)) == 105
    assert 0 < await loop_redis().ttl(key) <= 11
    assert not failures
    await loop_redis().delete(key)
