"""The production path for real: server processes sharing one PostgreSQL database and one Redis.

Two `daphne` processes serve the same room; clients on both see every message exactly once, the
same member list and the same history. Then one process is killed with SIGKILL: its clients
reconnect to the survivor without missing a message, and its members who do not come back are
announced as gone once its heartbeat is stale. Every wait here is bounded.
"""

import asyncio
import json
import re
import time
import urllib.parse
import urllib.request

import pytest

from tests.live_server import daphne_command
from tests.support.database import stored_ids
from tests.support.servers import HEARTBEAT_SECONDS, STALE_SECONDS, Visitor, compose_uvicorn_command, wait_until

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

# --- server processes -------------------------------------------------------------------------


# --- browser-like clients ---------------------------------------------------------------------


async def all_received_exactly_once(chat_clients, code, expected_count):
    """Wait until each client has every stored message, then check none arrived twice."""
    ids = []
    deadline = time.monotonic() + 15
    while len(ids) < expected_count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        ids = await stored_ids(code)
    assert len(ids) == expected_count, "every message sent was stored once"
    await wait_until(
        lambda: all(set(ids) <= set(client.received) for client in chat_clients), 15, "every message everywhere"
    )
    await asyncio.sleep(0.5)  # room for a duplicate to show up before counting
    for client in chat_clients:
        assert set(client.received) == set(ids), client.visitor.name
        assert max(client.received.values()) == 1, f"{client.visitor.name} got a message twice"


# --- the tests --------------------------------------------------------------------------------


async def test_two_processes_share_a_room_and_survive_one_being_killed(start_servers, clients):
    first, second = await asyncio.to_thread(start_servers, daphne_command(), daphne_command())
    names = ["Ann", "Bob", "Cat", "Dan", "Eve"]
    visitors = {name: Visitor(name) for name in names}
    home_server = {"Ann": first, "Bob": second, "Cat": first, "Dan": second, "Eve": second}

    code = await asyncio.to_thread(visitors["Ann"].submit_home_form, first.url, create="")
    for name in names[1:]:
        joined = await asyncio.to_thread(visitors[name].submit_home_form, home_server[name].url, code=code, join="")
        assert joined == code
    chat = {name: await clients(visitors[name], code, home_server[name]) for name in names}

    # Presence lists agree, whichever process a member is connected to.
    await wait_until(
        lambda: all(c.members == names for c in chat.values()),
        15,
        lambda: f"every member in every list; lists now: { {name: c.members for name, c in chat.items()} }",
    )

    # Every message reaches every client exactly once.
    for number in range(4):
        for name in names:
            await chat[name].send(f"{name} says {number}", client_id=f"{name}-{number}")
    await all_received_exactly_once(chat.values(), code, expected_count=20)

    # History is identical from either process.
    histories = []
    for server in (first, second):
        tab = await clients(visitors["Ann"], code, server)
        await wait_until(lambda tab=tab: tab.history_frames(), 10, "history frame")
        histories.append(tab.history_frames()[0]["messages"])
        await tab.close()
    assert histories[0] == histories[1]
    assert [message["id"] for message in histories[0]] == await stored_ids(code)

    # The second process dies without a word. Its clients notice and come back through the first.
    await asyncio.to_thread(second.kill)
    moved = [chat["Bob"], chat["Dan"]]
    await wait_until(lambda: all(c.closed for c in (*moved, chat["Eve"])), 10, "dropped connections")
    await chat["Ann"].send("while you were away", client_id="Ann-away")
    await chat["Cat"].send("me too", client_id="Cat-away")
    await wait_until(lambda: len(chat["Ann"].received) == 22, 10, "Ann to see the messages sent meanwhile")
    for client in moved:
        last_id = max(client.received)
        back = await clients(client.visitor, code, first, after=last_id)
        back.received.update(client.received)  # what this person already had before the drop
        chat[client.visitor.name] = back
    survivors = [chat[name] for name in ("Ann", "Bob", "Cat", "Dan")]
    await all_received_exactly_once(survivors, code, expected_count=22)

    # Eve never came back: once the dead process's heartbeat is stale, she is announced as gone.
    # Bob and Dan are connected again and must not be announced as leaving.
    await wait_until(
        lambda: all("Eve" in c.system("leave") for c in (chat["Ann"], chat["Cat"])),
        STALE_SECONDS + 10 * HEARTBEAT_SECONDS,
        "Eve's leave notice",
    )
    remaining = ["Ann", "Bob", "Cat", "Dan"]
    await wait_until(lambda: all(c.members == remaining for c in survivors), 10, "member lists without Eve")
    for client in survivors:
        assert not {"Bob", "Dan"} & set(client.system("leave")), client.visitor.name
    assert chat["Ann"].system("leave").count("Eve") == 1


async def test_watchers_on_another_process_are_counted_and_revoking_closes_them(start_servers, clients):
    first, second = await asyncio.to_thread(start_servers, daphne_command(), daphne_command())
    ann, bob = Visitor("Ann"), Visitor("Bob")
    code = await asyncio.to_thread(ann.submit_home_form, first.url, create="")
    await asyncio.to_thread(bob.submit_home_form, second.url, code=code, join="")
    owner = await clients(ann, code, first)
    member = await clients(bob, code, second)
    await wait_until(lambda: owner.members == member.members == ["Ann", "Bob"], 10, "both members everywhere")

    await owner.socket.send(json.dumps({"type": "watch_link", "active": True}))
    await wait_until(lambda: any(f.get("watch_link") for f in owner.frames), 10, "the owner's watch link")
    token = next(f["watch_link"] for f in owner.frames if f.get("watch_link")).rstrip("/").split("/")[-1]
    watcher = await clients(Visitor("watcher"), code, second, watch=token)
    await wait_until(
        lambda: owner.watchers == member.watchers == watcher.watchers == 1,
        10,
        lambda: f"one watcher counted everywhere: {owner.watchers}, {member.watchers}, {watcher.watchers}",
    )
    assert owner.members == ["Ann", "Bob"]  # counted, never listed

    await owner.send("watched from the other process", client_id="watched-1")
    await wait_until(lambda: len(watcher.received) == 1, 10, "the watcher to get the message")

    await owner.socket.send(json.dumps({"type": "watch_link", "active": False}))
    await wait_until(lambda: watcher.closed, 10, "the watcher on the other process to be closed")
    assert [f["code"] for f in watcher.frames if f["type"] == "error"] == ["watch_revoked"]
    assert watcher.socket.close_code == 4014
    await wait_until(lambda: owner.watchers == member.watchers == 0, 10, "the watcher count back to 0")


@pytest.mark.parametrize("command", [daphne_command, compose_uvicorn_command], ids=["daphne", "uvicorn"])
async def test_each_production_server_command_serves_pages_static_files_and_websockets(command, start_servers, clients):
    (server,) = await asyncio.to_thread(start_servers, command())
    visitor = Visitor("Ann")
    status, _, page = await asyncio.to_thread(visitor.get, server.url + "/")
    assert status == 200 and b'name="csrfmiddlewaretoken"' in page

    # Static files are hashed (cacheable forever) and served compressed by WhiteNoise.
    stylesheet = re.search(rb'href="(/static/rooms/style\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the page links the hashed stylesheet"
    request = urllib.request.Request(server.url + stylesheet.group(1).decode(), headers={"Accept-Encoding": "gzip"})
    _, headers, _ = await asyncio.to_thread(visitor.get, request)
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]

    code = await asyncio.to_thread(visitor.submit_home_form, server.url, create="")
    client = await clients(visitor, code, server)
    await wait_until(lambda: client.members == ["Ann"], 10, "Ann's own presence")
    await client.send("hello", client_id="hello-1")
    await wait_until(lambda: len(client.received) == 1, 10, "the message to come back")
