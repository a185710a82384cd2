"""The production path for real: server processes sharing one PostgreSQL database and one Redis.

Two `daphne` processes serve the same room; clients on both see every message exactly once, the
same member list and the same history. Then one process is killed with SIGKILL: its clients
reconnect to the survivor without missing a message, and its members who do not come back are
announced as gone once its heartbeat is stale. Every wait here is bounded.
"""

import asyncio
import http.cookiejar
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import yaml
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect

from rooms.models import Message
from tests.live_server import PROJECT_ROOT, LiveServer, daphne_command, free_port

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
HEARTBEAT_SECONDS = 1
STALE_SECONDS = 4


async def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.02)


# --- server processes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """collectstatic once, as the Dockerfile does, so servers run with hashed, compressed files."""
    root = tmp_path_factory.mktemp("staticfiles")
    env = {**os.environ, "STATIC_ROOT": str(root), "STATIC_MANIFEST": "1", "SECRET_KEY": "collectstatic"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return root


def database_url_for_servers():
    """DATABASE_URL pointed at the test database pytest-django made, where this test's data is."""
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return urllib.parse.urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def start_servers(transactional_db, static_root, tmp_path):
    """Start server processes (commands with {port}) against the test database and a fresh Redis
    prefix; all are stopped before the database is flushed."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_servers(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "REDIS_PREFIX": f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}-{secrets.token_hex(4)}",
        "SECRET_KEY": settings.SECRET_KEY,  # sessions are signed: every process needs the same key
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "STATIC_MANIFEST": "1",
        "PRESENCE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "PRESENCE_STALE_SECONDS": str(STALE_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    started = []

    def start(*commands):
        servers = []
        for command in commands:
            port = free_port()
            server = LiveServer(env=env, command=command, port=port, log_path=tmp_path / f"server-{port}.log")
            server.spawn()
            servers.append(server)
        started.extend(servers)
        for server in servers:
            server.wait_healthy()
        return servers

    yield start
    for server in started:
        server.stop()


def compose_uvicorn_command():
    """The web workers' command from docker-compose.yml, on a local port instead of 0.0.0.0:8000."""
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["web1"]["command"]
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[0] == "uvicorn"
    argv[0] = str(BIN / "uvicorn")
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = "{port}"
    return argv


# --- browser-like clients ---------------------------------------------------------------------


class Visitor:
    """One browser: a cookie jar and the home form's CSRF flow."""

    def __init__(self, name):
        self.name = name
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def get(self, url):
        with self.opener.open(url, timeout=10) as response:
            return response.status, response.headers, response.read()

    def submit_home_form(self, base, **fields):
        _, _, page = self.get(base + "/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "name": self.name, **fields}).encode()
        request = urllib.request.Request(base + "/", data=data, headers={"Referer": base + "/"})
        with self.opener.open(request, timeout=10) as response:
            match = re.fullmatch(r"/rooms/([A-Z0-9]+)/", urllib.parse.urlsplit(response.geturl()).path)
            assert match, f"{self.name} was not taken to a room: {response.geturl()}"
            return match.group(1)

    def cookie_header(self):
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.cookies)


class ChatClient:
    """A websocket connection to one server; records every frame and each message id it got."""

    def __init__(self, visitor, code, watch=None):
        self.visitor = visitor
        self.code = code
        self.watch = watch  # a watch link's token: a read-only watcher instead of a member
        self.frames = []
        self.received = Counter()  # message id -> times received, live or in history
        self.members = None
        self.watchers = None
        self.socket = None
        self.reader = None

    async def open(self, server, after=None):
        query = f"?after={after}" if after is not None else ""
        path = f"{self.code}/watch/{self.watch}" if self.watch else self.code
        self.socket = await connect(
            f"ws://127.0.0.1:{server.port}/ws/rooms/{path}/{query}",
            origin=server.url,
            additional_headers={"Cookie": self.visitor.cookie_header()},
            proxy=None,
            open_timeout=10,
            close_timeout=2,
        )
        self.reader = asyncio.ensure_future(self.read())
        return self

    async def read(self):
        try:
            async for raw in self.socket:
                frame = json.loads(raw)
                self.frames.append(frame)
                if frame["type"] == "message":
                    self.received[frame["id"]] += 1
                elif frame["type"] == "history":
                    self.received.update(message["id"] for message in frame["messages"])
                elif frame["type"] == "presence":
                    self.members = frame["members"]
                    self.watchers = frame["watchers"]
        except Exception:
            pass  # the server went away; `closed` says so

    @property
    def closed(self):
        return self.reader is not None and self.reader.done()

    async def send(self, body, client_id):
        await self.socket.send(json.dumps({"type": "message", "body": body, "client_id": client_id}))

    def system(self, event):
        return [frame["name"] for frame in self.frames if frame["type"] == "system" and frame["event"] == event]

    def history_frames(self):
        return [frame for frame in self.frames if frame["type"] == "history"]

    async def close(self):
        if self.socket is not None:
            await self.socket.close()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 5)


@pytest.fixture
async def clients():
    opened = []

    async def open_client(visitor, code, server, after=None, watch=None):
        client = await ChatClient(visitor, code, watch).open(server, after)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        try:
            await client.close()
        except Exception:
            pass


async def stored_ids(code):
    return await database_sync_to_async(
        lambda: list(Message.objects.filter(room__code=code).order_by("id").values_list("id", flat=True))
    )()


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
