"""Soak test (not a unit test): N clients in M rooms for T seconds with random disconnects,
reconnects that resume with ?after, and idempotent resends; then every client's view is compared
with the database.

    .venv/bin/python bench/soak.py --clients 100 --rooms 10 --seconds 120

Starts its own server (`daphne chatsite.asgi:application` on a free 127.0.0.1 port, with a fresh
SQLite file) unless --url is given; with --url, pass --sqlite PATH or --database-url URL so the
result can be checked against the server's database.

Each client behaves like room.js: it remembers the highest message id it has seen and reconnects
with ?after=ID; every message carries a client_id and stays "unacknowledged" until its echo (or a
resumed history) shows it stored; unacknowledged messages are resent after each reconnect's
history, and after `retry_after` when refused as `rate_limited`/`unavailable` (never on a timer:
on a busy server that only adds load). Disconnects are random: polite closes, aborted TCP
connections, and aborts right after a send (a lost acknowledgement).

With --drop-every N (own server only) the server loses the live delivery of every Nth message a
client creates (DELIVERY_FAULTS, rooms/realtime/faults.py): the room's event log must still bring
it to every connected client, in order, without a reconnect.

Printed at the end:
  sent            distinct messages the clients created (resends not counted)
  send_attempts   frames sent, resends included
  stored          rows in the database for the soak's rooms
  delivered       distinct (client, message) deliveries
  lost            sent but never stored, plus stored but missing from a member's final view
  duplicated      stored twice (same client_id), plus a message shown twice to a client
                  (an echo answering the client's own resend is expected and counted apart)
  out_of_order    a message arriving after a newer one of the same room, per client
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

PROJECT = Path(__file__).resolve().parent.parent
NEVER = float("inf")
DROP_MARKER = " [delivery dropped]"


# --- the server ---------------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def opener(cookies=None):
    handlers = [urllib.request.ProxyHandler({})]
    if cookies is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(cookies))
    return urllib.request.build_opener(*handlers)


class OwnServer:
    """A daphne process with its own SQLite file, stopped on exit."""

    def __init__(self, log_path=None, faults=""):
        self.directory = tempfile.TemporaryDirectory(prefix="roomchat-soak-")
        self.database = Path(self.directory.name) / "soak.sqlite3"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SQLITE_PATH": str(self.database), "DJANGO_SETTINGS_MODULE": "chatsite.settings"}
        # Every soak client is 127.0.0.1: lift the per-IP and per-session budgets (as bench/run.py does).
        lifted = ("WS_MAX_CONNECTIONS_PER_IP", "NEW_JOINS_PER_IP_PER_MINUTE", "WS_CONNECTS_PER_SESSION_PER_MINUTE")
        for name in (*lifted, "WS_CONNECTS_PER_IP_PER_MINUTE"):
            self.env.setdefault(name, "1000000")
        for name in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
            self.env.pop(name, None)
        if faults:
            self.env["DELIVERY_FAULTS"] = faults
        self.log = open(log_path or Path(self.directory.name) / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = None

    def start(self):
        migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
        subprocess.run(migrate, cwd=PROJECT, env=self.env, check=True, capture_output=True)
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "chatsite.asgi:application"]
        self.process = subprocess.Popen(command, cwd=PROJECT, env=self.env, stdout=self.log, stderr=self.log)
        self.wait_until_up()

    def wait_until_up(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with opener().open(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        raise SystemExit("the server did not start; see its log")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        self.directory.cleanup()


def stored_rows(args, database_path, codes):
    """(room code, id, client_id) of every message in the soak's rooms, by id."""
    query = (
        "SELECT r.code, m.id, m.client_id FROM rooms_message m JOIN rooms_room r ON r.id = m.room_id "
        "WHERE r.code IN ({}) ORDER BY m.id"
    )
    if args.database_url:
        import psycopg

        with psycopg.connect(args.database_url) as connection:
            return connection.execute(query.format(", ".join(["%s"] * len(codes))), codes).fetchall()
    with sqlite3.connect(database_path) as connection:
        return connection.execute(query.format(", ".join("?" * len(codes))), codes).fetchall()


# --- one simulated browser ----------------------------------------------------------------------


class Client:
    def __init__(self, number, base_url, rng, stats, drop_every=0):
        self.number = number
        self.name = f"Soak {number}"
        self.base_url = base_url
        self.rng = rng
        self.stats = stats
        self.drop_every = drop_every  # every Nth message created carries DROP_MARKER
        self.cookies = CookieJar()
        self.code = None
        self.socket = None
        self.reader = None  # the reading task of the final phase's connection
        self.sent_here = set()
        self.view = []  # message ids in arrival order, over every connection, duplicates kept
        self.seen = set()
        self.highest = 0
        self.created = 0
        self.unacked = {}  # client_id -> (body, last send time, earliest resend time)
        self.resent = set()  # client_ids sent more than once: their echoes may repeat an id
        self.sent_at = {}  # client_id -> first send time, for the acknowledgement latency
        self.duplicates = 0
        self.resend_echoes = 0
        self.out_of_order = 0

    # HTTP: the home form, like a browser (CSRF token, session cookie).
    def enter(self, code=None):
        browser = opener(self.cookies)
        page = browser.open(f"{self.base_url}/", timeout=10).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        fields = {"csrfmiddlewaretoken": token, "name": self.name}
        fields.update({"code": code, "join": ""} if code else {"create": ""})
        request = urllib.request.Request(
            f"{self.base_url}/", data=urllib.parse.urlencode(fields).encode(), headers={"Referer": f"{self.base_url}/"}
        )
        with browser.open(request, timeout=10) as response:
            self.code = re.search(r"/rooms/([A-Z0-9]+)/$", response.geturl()).group(1)
        return self.code

    async def connect(self):
        host = urllib.parse.urlsplit(self.base_url).netloc
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        self.socket = await ws_connect(
            f"ws://{host}/ws/rooms/{self.code}/?after={self.highest}",
            origin=self.base_url,
            additional_headers={"Cookie": cookie},
            proxy=None,
            open_timeout=30,
        )
        self.resumed = asyncio.get_running_loop().create_future()
        self.sent_here = set()  # client_ids sent on this connection
        self.stats["connections"] += 1

    async def wait_resumed(self, reader, timeout=60):
        """Until the (last page of the) history arrives: what it shows stored needs no resend."""
        await asyncio.wait({self.resumed, reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    def record(self, message):
        message_id = message["id"]
        client_id = message.get("client_id")
        if client_id in self.unacked:
            del self.unacked[client_id]
            self.stats["latencies"].append(time.monotonic() - self.sent_at[client_id])
        if message_id in self.seen:
            if client_id in self.resent:
                self.resend_echoes += 1  # the answer to our own resend: expected
            else:
                self.duplicates += 1
            return
        if message_id < self.highest:
            self.out_of_order += 1
        self.view.append(message_id)
        self.seen.add(message_id)
        self.highest = max(self.highest, message_id)

    async def read(self):
        socket = self.socket
        try:
            await self.read_frames(socket)
        finally:
            # The close code the server sent (None: aborted by this client, or still open).
            self.stats[f"close:{socket.close_code}"] += 1

    async def read_frames(self, socket):
        async for text in socket:
            frame = json.loads(text)
            kind = frame["type"]
            if kind == "history":
                for message in frame["messages"]:
                    self.record(message)
                if frame.get("complete", True) and not self.resumed.done():
                    self.resumed.set_result(True)
            elif kind == "message":
                self.record(frame)
            elif kind == "error":
                self.stats["error:" + frame["code"]] += 1
                client_id = frame.get("client_id")
                if client_id in self.unacked and frame["code"] in ("rate_limited", "unavailable"):
                    body, sent, _ = self.unacked[client_id]
                    delay = frame.get("retry_after") or 1.0
                    self.unacked[client_id] = (body, sent, time.monotonic() + delay)

    async def send(self, client_id, body):
        now = time.monotonic()
        if client_id in self.unacked:
            self.resent.add(client_id)
        self.unacked[client_id] = (body, now, NEVER)
        self.sent_at.setdefault(client_id, now)
        self.sent_here.add(client_id)
        self.stats["send_attempts"] += 1
        await self.socket.send(json.dumps({"type": "message", "body": body, "client_id": client_id}))

    async def send_new(self):
        self.created += 1
        client_id = f"soak-{self.number}-{self.created}"
        lost = DROP_MARKER if self.drop_every and self.created % self.drop_every == 0 else ""
        await self.send(client_id, f"message {self.created} from {self.name} ✓{lost}")
        return client_id

    async def resend_due(self, everything=False):
        now = time.monotonic()
        for client_id, (body, _, due) in list(self.unacked.items()):
            if due <= now or (everything and client_id not in self.sent_here):
                await self.send(client_id, body)

    async def disconnect(self, abrupt):
        if self.socket is None:
            return
        if abrupt:
            self.socket.transport.abort()  # no close handshake: like a dropped Wi-Fi link
        else:
            await self.socket.close()
        self.stats["disconnects"] += 1

    async def session(self, until, mean_interval, mean_session):
        """One connection: resend what is unacknowledged, then chat until a random drop."""
        await self.connect()
        reader = asyncio.ensure_future(self.read())
        try:
            if self.rng.random() < 0.5:
                # Half the time resend at once, before the history could show what was stored:
                # the server must answer those it has with an echo and store nothing twice.
                await self.resend_due(everything=True)
            await self.wait_resumed(reader)
            await self.resend_due(everything=True)
            session_end = min(until, time.monotonic() + self.rng.expovariate(1 / mean_session))
            while time.monotonic() < session_end and not reader.done():
                pause = self.rng.expovariate(1 / mean_interval)
                await asyncio.sleep(min(pause, max(0, session_end - time.monotonic())))
                if time.monotonic() >= until or reader.done():
                    break
                await self.send_new()
                await self.resend_due()
                if self.rng.random() < 0.03:  # drop right after sending: its acknowledgement is lost
                    break
            await self.disconnect(abrupt=self.rng.random() < 0.5)
        finally:
            reader.cancel()
            self.socket = None

    async def run(self, until, mean_interval, mean_session):
        await asyncio.sleep(self.rng.uniform(0, 5))  # people arrive over a few seconds, not at once
        while time.monotonic() < until:
            try:
                await self.session(until, mean_interval, mean_session)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as error:
                self.stats["connect_failures"] += 1
                self.stats[f"failure:{type(error).__name__}"] += 1
            await asyncio.sleep(self.rng.uniform(0, 2))  # offline for a moment, then reconnect

    async def ensure_connected(self):
        """Reconnect (resuming, then resending what is unacknowledged) if the connection is gone."""
        if self.reader is not None and not self.reader.done():
            return
        try:
            await self.connect()
            self.reader = asyncio.ensure_future(self.read())
            await self.wait_resumed(self.reader)
            await self.resend_due(everything=True)
        except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as error:
            self.stats["connect_failures"] += 1
            self.stats[f"failure:{type(error).__name__}"] += 1
            await asyncio.sleep(1)

    async def finish(self, done, deadline):
        """Stay connected (reconnecting and resending as needed) until `done()` or the deadline."""
        while time.monotonic() < deadline and not done():
            await self.ensure_connected()
            await self.resend_due()
            await asyncio.sleep(0.2)

    async def close(self):
        if self.reader is not None:
            self.reader.cancel()
        if self.socket is not None:
            await self.socket.close()


# --- the run ------------------------------------------------------------------------------------


async def report_progress(clients, stats, started, every=10):
    while True:
        await asyncio.sleep(every)
        created = sum(c.created for c in clients)
        unacked = sum(len(c.unacked) for c in clients)
        print(
            f"  {time.monotonic() - started:5.0f} s: created {created}, unacknowledged {unacked}, "
            f"attempts {stats['send_attempts']}, connections {stats['connections']}, "
            f"connect failures {stats['connect_failures']}",
            flush=True,
        )


async def soak(args, base_url, database_path):
    rng = random.Random(args.seed)
    stats = Counter()
    stats["latencies"] = []
    clients = [
        Client(n, base_url, random.Random(rng.random()), stats, args.drop_every if not args.url else 0)
        for n in range(args.clients)
    ]

    # Sessions through the real form: the first member of each room creates it, the rest join.
    owners = clients[: args.rooms]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda c: c.enter(), owners))
        others = clients[args.rooms :]
        list(pool.map(lambda pair: pair[1].enter(codes[pair[0] % args.rooms]), enumerate(others)))
    print(f"{args.clients} clients in {args.rooms} rooms for {args.seconds} s against {base_url}", flush=True)

    started = time.monotonic()
    until = started + args.seconds
    progress = asyncio.ensure_future(report_progress(clients, stats, started))
    await asyncio.gather(*(c.run(until, args.interval, args.session) for c in clients))
    progress.cancel()
    print(f"chatting done after {time.monotonic() - started:.0f} s; settling", flush=True)

    # A busy server may still be working through a backlog: wait (bounded) until every message is
    # acknowledged, then until every client has caught up with what the database holds.
    deadline = time.monotonic() + args.settle_seconds
    await asyncio.gather(*(c.finish(lambda c=c: not c.unacked, deadline) for c in clients))
    while True:
        rows = await asyncio.to_thread(stored_rows, args, database_path, codes)
        by_room = defaultdict(set)
        for code, message_id, _ in rows:
            by_room[code].add(message_id)
        await asyncio.gather(*(c.finish(lambda c=c, room=by_room: room[c.code] <= c.seen, deadline) for c in clients))
        if len(await asyncio.to_thread(stored_rows, args, database_path, codes)) == len(rows):
            break  # nothing was stored meanwhile: this is the final state
    print(f"settled after {time.monotonic() - started - args.seconds:.0f} s", flush=True)
    for client in clients:
        await client.close()
    # A message missing below the highest id a client has is a gap (lost); above it, the client
    # had not caught up by the deadline (behind).
    gaps = {c.number: sorted(i for i in by_room[c.code] - c.seen if i < c.highest) for c in clients}
    behind = {c.number: sorted(i for i in by_room[c.code] - c.seen if i > c.highest) for c in clients}
    for label, missing in (("gap", gaps), ("behind", behind)):
        for number, ids in list((n, i) for n, i in missing.items() if i)[:5]:
            print(f"  client {number} {label}: {len(ids)} missing, e.g. {ids[:5]}", flush=True)

    created = {f"soak-{c.number}-{n}" for c in clients for n in range(1, c.created + 1)}
    stored_ids = Counter(client_id for _, _, client_id in rows)
    lost_sends = len(created - set(stored_ids))
    lost_deliveries = sum(len(by_room[c.code] - c.seen) for c in clients)
    stored_twice = sum(count - 1 for count in stored_ids.values() if count > 1)
    foreign = len(set(stored_ids) - created)
    latencies = sorted(stats["latencies"])
    result = {
        "sent": len(created),
        "send_attempts": stats["send_attempts"],
        "stored": len(rows),
        "delivered": sum(len(c.seen) for c in clients),
        "lost": lost_sends + lost_deliveries,
        "lost_sends": lost_sends,
        "lost_deliveries": lost_deliveries,
        "gaps_in_views": sum(len(ids) for ids in gaps.values()),
        "views_behind_at_deadline": sum(len(ids) for ids in behind.values()),
        "duplicated": stored_twice + sum(c.duplicates for c in clients),
        "resend_echoes": sum(c.resend_echoes for c in clients),
        "out_of_order": sum(c.out_of_order for c in clients),
        "stored_without_sender": foreign,
        "still_unacknowledged": sum(len(c.unacked) for c in clients),
        "connections": stats["connections"],
        "disconnects": stats["disconnects"],
        "connect_failures": stats["connect_failures"],
        "errors": {k.removeprefix("error:"): v for k, v in stats.items() if k.startswith("error:")},
        "failures": {k.removeprefix("failure:"): v for k, v in stats.items() if k.startswith("failure:")},
        "close_codes": {k.removeprefix("close:"): v for k, v in stats.items() if k.startswith("close:")},
        "ack_latency_ms_p50": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "ack_latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "seconds": args.seconds,
    }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--interval", type=float, default=3.0, help="mean seconds between a client's messages")
    parser.add_argument("--session", type=float, default=30.0, help="mean seconds a connection lives")
    parser.add_argument("--settle-seconds", type=float, default=180, help="at most this long for the final check")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--sqlite", help="with --url: the server's SQLite file")
    parser.add_argument("--database-url", help="with --url: the server's PostgreSQL URL")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--server-log", help="keep the own server's output in this file")
    parser.add_argument("--drop-every", type=int, default=0, help="own server loses every Nth message's live delivery")
    args = parser.parse_args()
    if not 1 <= args.rooms <= args.clients:
        parser.error("need 1 <= rooms <= clients")
    if not 1 <= args.seconds <= 3600:
        parser.error("--seconds must be within 1..3600")

    server = None
    if args.url:
        if not (args.sqlite or args.database_url):
            parser.error("--url needs --sqlite or --database-url to check against the database")
        base_url, database_path = args.url.rstrip("/"), args.sqlite
    else:
        server = OwnServer(args.server_log, f"drop-local:{DROP_MARKER}" if args.drop_every else "")
        server.start()
        base_url, database_path = server.url, server.database
    try:
        result = asyncio.run(soak(args, base_url, database_path))
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    ok = result["lost"] == 0 and result["duplicated"] == 0 and result["out_of_order"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
