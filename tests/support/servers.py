"""Server processes for tests of the production path, and the browser-like clients that talk to
them: a Visitor (cookies and the home form's CSRF flow) and a ChatClient (one websocket). The
servers themselves are started by the start_servers fixture (tests/conftest.py), with daphne
(tests/live_server.py) or the uvicorn command of docker-compose.yml (compose_uvicorn_command)."""

import asyncio
import http.cookiejar
import json
import re
import shlex
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import yaml
from websockets.asyncio.client import connect

from tests.live_server import PROJECT_ROOT

HEARTBEAT_SECONDS = 1
STALE_SECONDS = 4
BIN = Path(sys.executable).parent


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


async def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.02)


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

    async def open(self, server, after=None, after_seq=None):
        query = f"?after={after}" if after is not None else ""
        query = f"?after_seq={after_seq}" if after_seq is not None else query
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
