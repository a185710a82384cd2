"""Connect/close churn (not a unit test): one session opens and closes websockets as fast as it can
in LOOPS parallel loops until CYCLES connects (or SECONDS) have passed, while two people chat in
another room; prints how long that room's messages took to echo during and right after the churn.

    .venv/bin/python bench/churn.py --cycles 5000 --loops 20
    .venv/bin/python bench/churn.py --cycles 5000 --database-url postgres://postgres@127.0.0.1:5432/DB \\
        --redis-url redis://127.0.0.1:6379/0

Starts its own uvicorn on a free 127.0.0.1 port (a fresh SQLite file, or the given PostgreSQL
database, which is emptied first). --project runs another checkout (a before/after comparison).
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from websockets.asyncio.client import connect as ws_connect

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "bench"))
from soak import OwnServer, free_port, opener  # noqa: E402


class Server(OwnServer):
    """A uvicorn process started as `make run` starts it, on its own SQLite file or on the given
    PostgreSQL + Redis (emptied first); waited for and stopped like the soak's server."""

    def __init__(self, project, database_url, redis_url):
        self.directory = tempfile.TemporaryDirectory(prefix="roomchat-churn-")
        self.project = Path(project)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatsite.settings", "LOG_LEVEL": "ERROR"}
        for name in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
            self.env.pop(name, None)
        if database_url:
            prefix = f"churn-{secrets.token_hex(4)}"
            self.env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, REDIS_PREFIX=prefix)
            self.env.update(SECRET_KEY="churn-only", STATIC_MANIFEST="0")
        else:
            self.env["SQLITE_PATH"] = str(Path(self.directory.name) / "churn.sqlite3")
        self.log = open(Path(self.directory.name) / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = None

    def start(self):
        python = str(PROJECT / ".venv" / "bin" / "python")
        if "DATABASE_URL" in self.env:
            flush = [python, "manage.py", "flush", "--noinput"]
            subprocess.run(flush, cwd=self.project, env=self.env, capture_output=True)
        migrate = [python, "manage.py", "migrate", "--noinput"]
        subprocess.run(migrate, cwd=self.project, env=self.env, check=True, capture_output=True)
        command = [python, "-m", "uvicorn", "chatsite.asgi:application", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--loop", "uvloop", "--http", "httptools"]
        command += ["--ws", "chatsite.websocket_protocol:CoalescingWebSocketProtocol", "--lifespan", "off"]
        self.process = subprocess.Popen(command, cwd=self.project, env=self.env, stdout=self.log, stderr=self.log)
        self.wait_until_up()

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) // 1024


class Person:
    """A browser: the home form, the room page, then its websocket."""

    def __init__(self, base_url, name):
        self.base_url = base_url
        self.name = name
        self.cookies = CookieJar()

    def enter(self, code=None):
        browser = opener(self.cookies)
        page = browser.open(f"{self.base_url}/", timeout=10).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        fields = {"csrfmiddlewaretoken": token, "name": self.name}
        fields.update({"code": code, "join": ""} if code else {"create": ""})
        request = urllib.request.Request(f"{self.base_url}/", data=urllib.parse.urlencode(fields).encode())
        with browser.open(request, timeout=10) as response:
            self.code = re.search(r"/rooms/([A-Z0-9]+)/$", response.geturl()).group(1)
        return self.code

    def socket(self):
        host = urllib.parse.urlsplit(self.base_url).netloc
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        return ws_connect(
            f"ws://{host}/ws/rooms/{self.code}/",
            origin=self.base_url,
            additional_headers={"Cookie": cookie},
            proxy=None,
            open_timeout=120,
            max_size=None,
        )


async def churn(person, cycles, seconds, loops, counts):
    deadline = time.monotonic() + seconds

    async def loop():
        while counts["cycles"] < cycles and time.monotonic() < deadline:
            counts["cycles"] += 1
            try:
                async with person.socket() as socket:
                    await asyncio.wait_for(socket.recv(), 30)  # the history (or a refusal)
            except Exception:
                counts["failed"] += 1

    await asyncio.gather(*(loop() for _ in range(loops)))


async def echo_time(bob, cat_socket, number):
    """Seconds from Bob's send until Cat, in the same quiet room, receives it."""
    async with bob.socket() as socket:
        await asyncio.wait_for(socket.recv(), 300)
        started = time.monotonic()
        body = f"ping {number}"
        await socket.send(json.dumps({"type": "message", "body": body, "client_id": secrets.token_hex(8)}))
        while True:
            frame = json.loads(await asyncio.wait_for(cat_socket.recv(), 600))
            if frame.get("type") == "message" and frame.get("body") == body:
                return time.monotonic() - started


async def run(args, server):
    mallory = Person(server.url, "Mallory")
    mallory_code = mallory.enter()
    opener(mallory.cookies).open(f"{server.url}/rooms/{mallory_code}/", timeout=10).read()  # the page, as a browser
    bob, cat = Person(server.url, "Bob"), Person(server.url, "Cat")
    code = bob.enter()
    cat.enter(code)
    for person in (bob, cat):
        opener(person.cookies).open(f"{server.url}/rooms/{code}/", timeout=10).read()
    counts = {"cycles": 0, "failed": 0}
    async with cat.socket() as cat_socket:
        await cat_socket.recv()
        print(f"before: echo {await echo_time(bob, cat_socket, 0):.3f} s, rss {server.rss_mib()} MiB", flush=True)
        started = time.monotonic()
        attack = asyncio.ensure_future(churn(mallory, args.cycles, args.seconds, args.loops, counts))
        during = []
        while not attack.done():
            await asyncio.sleep(2)
            during.append(await echo_time(bob, cat_socket, len(during) + 1))
        elapsed = time.monotonic() - started
        after = await echo_time(bob, cat_socket, 999)
        print(
            f"churn: {counts['cycles']} cycles ({counts['failed']} failed) in {elapsed:.1f} s by {args.loops} loops; "
            f"echo during: max {max(during, default=0):.3f} s over {len(during)} samples; "
            f"right after: {after:.3f} s; rss {server.rss_mib()} MiB",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=120, help="stop the churn after this long anyway")
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--project", default=str(PROJECT), help="the checkout to serve")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    server = Server(args.project, args.database_url, args.redis_url)
    server.start()
    try:
        asyncio.run(run(args, server))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
