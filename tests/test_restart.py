"""Restarts and failures: the real server is killed and started again under open clients, and the
database fails while messages arrive. Nothing sent is lost or stored twice."""

import asyncio
import json
import sqlite3

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from rooms.models import Message
from tests.live_server import LiveServer
from tests.support.servers import Visitor
from tests.support.ws import next_of, settled

# --- the database fails while the server runs ----------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    """While `down["on"]` is true, every statement matching `down["sql"]` fails the way a locked or
    unreachable database does (an OperationalError, as Django raises it for any backend)."""
    down = {"on": False, "sql": "INSERT"}
    real_execute = CursorWrapper._execute

    def execute(self, sql, params, *ignored_wrappers):
        if down["on"] and down["sql"] in sql:
            raise OperationalError("database is unavailable")
        return real_execute(self, sql, params, *ignored_wrappers)

    monkeypatch.setattr(CursorWrapper, "_execute", execute)
    return down


@pytest.mark.django_db(transaction=True)
async def test_a_message_arriving_while_the_database_fails_gets_unavailable_and_can_be_retried(
    room, session_for, open_socket, database_down
):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket = await settled(await open_socket(room.code, ann))
    bob_socket = await settled(await open_socket(room.code, bob))
    frame = {"type": "message", "body": "important", "client_id": "ann-7"}

    database_down["on"] = True
    await ann_socket.send_json_to(frame)
    error = await next_of(ann_socket, "error", "message")
    assert (error["type"], error["code"], error["client_id"]) == ("error", "unavailable", "ann-7")
    assert "retry" in error["detail"]
    # The connection survives: a ping is still answered while the database is down.
    await ann_socket.send_json_to({"type": "ping"})
    assert (await next_of(ann_socket, "pong"))["type"] == "pong"

    database_down["on"] = False
    await ann_socket.send_json_to(frame)  # the retry, same client_id
    echo = await next_of(ann_socket, "message")
    assert (echo["body"], echo["client_id"]) == ("important", "ann-7")
    assert (await next_of(bob_socket, "message"))["id"] == echo["id"]
    bodies = await database_sync_to_async(lambda: list(Message.objects.values_list("body", flat=True)))()
    assert bodies == ["important"]


@pytest.mark.django_db(transaction=True)
async def test_connecting_while_the_database_fails_is_refused_as_unavailable_then_works(
    room, session_for, open_socket, database_down
):
    ann = await database_sync_to_async(session_for)("Ann")
    database_down.update(on=True, sql="SELECT")
    communicator = await open_socket(room.code, ann)
    frame = await communicator.receive_json_from(timeout=3)
    assert (frame["type"], frame["code"]) == ("error", "unavailable")
    closed = await communicator.receive_output(timeout=3)
    assert (closed["type"], closed["code"]) == ("websocket.close", 1013)

    database_down["on"] = False
    communicator = await settled(await open_socket(room.code, ann))
    await communicator.send_json_to({"type": "message", "body": "back"})
    assert (await next_of(communicator, "message"))["body"] == "back"


@pytest.mark.django_db(transaction=True)
async def test_the_database_failing_during_the_join_refuses_cleanly(room, session_for, open_socket, database_down):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    bob_socket = await settled(await open_socket(room.code, bob))
    database_down.update(on=True, sql='INSERT INTO "rooms_presence"')
    communicator = await open_socket(room.code, ann)
    frame = await next_of(communicator, "error")
    assert frame["code"] == "unavailable"
    assert (await communicator.receive_output(timeout=3))["code"] == 1013
    database_down["on"] = False
    # Bob's connection and the room are unaffected.
    await bob_socket.send_json_to({"type": "message", "body": "still here"})
    assert (await next_of(bob_socket, "message"))["body"] == "still here"


# --- the real server, killed and restarted ---------------------------------------------------------


def stored_messages(server, code):
    with sqlite3.connect(server.sqlite_path) as connection:
        return connection.execute(
            "SELECT m.id, m.body, m.client_id FROM rooms_message m JOIN rooms_room r ON r.id = m.room_id "
            "WHERE r.code = ? ORDER BY m.id",
            (code,),
        ).fetchall()


class ResumingClient:
    """A browser's session (real HTTP form flow) and its websocket, as room.js uses it: remembers
    the highest id seen, resumes after it, and resends unacknowledged messages with their client_id."""

    def __init__(self, server, name):
        self.server = server
        self.visitor = Visitor(name)
        self.seen = []  # message ids in arrival order, over all connections
        self.unacked = {}  # client_id -> body
        self.socket = None

    def enter(self, code=None):
        """Create a room (no code) or join one through the home form; returns the room code."""
        fields = {"code": code, "join": ""} if code else {"create": ""}
        return self.visitor.submit_home_form(self.server.url, **fields)

    async def connect(self, code):
        after = f"?after={max(self.seen)}" if self.seen else ""
        self.socket = await ws_connect(
            f"ws://127.0.0.1:{self.server.port}/ws/rooms/{code}/{after}",
            origin=self.server.url,
            additional_headers={"Cookie": self.visitor.cookie_header()},
            proxy=None,
        )
        await self.read_until(lambda frame: frame["type"] == "history" and frame.get("complete", True))

    async def read_until(self, done, timeout=10):
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.socket.recv())
                messages = frame.get("messages", []) if frame["type"] == "history" else [frame]
                for message in messages:
                    if message.get("type") == "message":
                        self.seen.append(message["id"])
                        self.unacked.pop(message.get("client_id"), None)
                if done(frame):
                    return frame

    async def send(self, client_id, body):
        self.unacked[client_id] = body
        await self.socket.send(json.dumps({"type": "message", "body": body, "client_id": client_id}))

    async def resend_unacked(self):
        for client_id, body in list(self.unacked.items()):
            await self.socket.send(json.dumps({"type": "message", "body": body, "client_id": client_id}))

    async def wait_for_ids(self, count):
        await self.read_until(lambda frame: len(set(self.seen)) >= count)


@pytest.fixture
def server(tmp_path):
    running = LiveServer(tmp_path / "chat.sqlite3")
    running.start()
    yield running
    running.stop()


async def wait_closed(client):
    """The client notices the dead server (its next read fails)."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await client.socket.recv()


async def test_clients_resume_after_the_server_is_killed_and_restarted(server):
    ann, bob = ResumingClient(server, "Ann"), ResumingClient(server, "Bob")
    code = await asyncio.to_thread(ann.enter)
    assert await asyncio.to_thread(bob.enter, code) == code
    await ann.connect(code)
    await bob.connect(code)

    for number in range(5):
        await ann.send(f"ann-{number}", f"ann says {number}")
    for number in range(3):
        await bob.send(f"bob-{number}", f"bob says {number}")
    await ann.wait_for_ids(8)
    await bob.wait_for_ids(8)
    assert not ann.unacked and not bob.unacked

    # Sent a moment before the crash: stored or not, its acknowledgement never comes.
    await ann.send("ann-maybe", "sent as the server died")
    server.kill()
    await wait_closed(ann)
    await wait_closed(bob)
    ann.unacked["ann-outage"] = "typed while the server was down"  # queued, not sendable

    server.start()  # same port, same database
    await bob.connect(code)
    await bob.send("bob-3", "bob after restart")
    await bob.send("bob-4", "bob again")
    await bob.read_until(lambda frame: not bob.unacked)

    await ann.connect(code)  # resumes after the last id Ann saw: gets Bob's two
    await ann.resend_unacked()
    await ann.read_until(lambda frame: not ann.unacked)
    # A second resend of the outage message, as after a lost acknowledgement: answered, not stored.
    await ann.send("ann-outage", "typed while the server was down")
    await ann.read_until(lambda frame: frame.get("client_id") == "ann-outage")

    stored = stored_messages(server, code)
    client_ids = [row[2] for row in stored]
    expected = [f"ann-{n}" for n in range(5)] + [f"bob-{n}" for n in range(5)] + ["ann-maybe", "ann-outage"]
    assert sorted(client_ids) == sorted(expected)  # every message stored, and exactly once
    stored_ids = [row[0] for row in stored]
    await bob.wait_for_ids(len(stored_ids))
    # Each client saw every stored message exactly once, in id order, across the restart — except
    # Ann's resend echo of ann-outage, which repeats an id she already had.
    assert ann.seen[:-1] == stored_ids and ann.seen[-1] == stored_ids[client_ids.index("ann-outage")]
    assert bob.seen == stored_ids
    await ann.socket.close()
    await bob.socket.close()
