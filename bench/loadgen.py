"""Load generator for roomchat: the real browser flow, then open-loop chat traffic.

Each simulated member does what a browser does: GET / (csrftoken cookie and the form's hidden
token), POST the form to create a room (the first member) or join it (the others), follow the
redirect to the room page, then open the websocket with the session cookie and a same-origin
Origin header. Then every member sends `rate` messages a second for `duration` seconds at fixed
times (open loop: a slow server does not slow the senders down), each with a unique token that
also serves as client_id. Receivers count what arrives, so the result says how many deliveries
were made, lost or duplicated, and how late they were (measured from the *scheduled* send time,
so a stalled server cannot hide its backlog).

Members are split over `workers` processes (each with its own event loop) so the client is not the
bottleneck; with several server URLs the members of every room are spread over all of them.

    python bench/loadgen.py chat --url http://127.0.0.1:8000 --rooms 20 --members 25 --rate 2 --duration 10
    python bench/loadgen.py idle --url http://127.0.0.1:8000 --connections 1000 --server-pid PID

`--floor` talks to bench/floor_server.py (no HTTP: websocket only). Every loop here is bounded in
count and time: connecting, sending and draining each have a deadline.
"""

import argparse
import asyncio
import http.client
import itertools
import json
import multiprocessing
import os
import re
import resource
import statistics
import sys
import time
import urllib.parse
import zlib
from array import array
from http.cookies import SimpleCookie

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.http11 import Response
from websockets.uri import parse_uri

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    uvloop = None

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ROOM_PATH = re.compile(r"/rooms/([A-Z0-9]+)/")
HTTP_CONCURRENCY = 8
CONNECT_TIMEOUT = 60.0


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- HTTP: the home form, as a browser submits it ----------------------------------------------


def http_request(base, method, path, cookies, body=None):
    """One request on a fresh connection; returns (status, headers, text) and updates `cookies`."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Host": parts.netloc, "Origin": base, "Referer": base + "/", "Connection": "close"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        body = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                cookies[key] = morsel.value
        return response.status, response.headers, text
    finally:
        conn.close()


def browser_enter_room(base, name, code=None):
    """Home form → session cookie; returns (room code, cookies). Creates a room when code is None."""
    cookies = {}
    status, _, page = http_request(base, "GET", "/", cookies)
    match = CSRF_INPUT.search(page)
    if status != 200 or not match:
        raise RuntimeError(f"GET / gave {status} without a CSRF form")
    form = {"csrfmiddlewaretoken": match.group(1), "name": name}
    if code is None:
        form["create"] = ""
    else:
        form.update(code=code, join="")
    status, headers, _ = http_request(base, "POST", "/", cookies, form)
    location = headers.get("Location", "")
    room = ROOM_PATH.search(location)
    if status != 302 or not room or "sessionid" not in cookies:
        raise RuntimeError(f"POST / ({'join' if code else 'create'}) gave {status} {location!r}")
    status, _, _ = http_request(base, "GET", room.group(0), cookies)
    if status != 200:
        raise RuntimeError(f"GET {room.group(0)} gave {status}")
    return room.group(1), cookies


# --- WebSocket: websockets' sans-I/O protocol on a plain asyncio transport ----------------------


class Member(asyncio.Protocol):
    """One websocket connection. websockets' sans-I/O protocol does the handshake and frames what
    we send; frames from the server (unmasked, unfragmented in practice) are parsed here in one
    tight loop with no task per message, so two client processes can take tens of thousands of
    frames a second without becoming the bottleneck they would otherwise be on a 2-core box."""

    def __init__(self, url, origin, cookie, deflate, on_text):
        self.protocol = ClientProtocol(
            parse_uri(url), extensions=[ClientPerMessageDeflateFactory()] if deflate else None, max_size=None
        )
        self.origin = origin
        self.cookie = cookie
        self.on_text = on_text
        self.transport = None
        self.opened = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.close_code = None
        self.buffer = bytearray()
        self.inflater = None  # set when the server accepted permessage-deflate
        self.fragments = None

    def connection_made(self, transport):
        self.transport = transport
        request = self.protocol.connect()
        request.headers["Origin"] = self.origin
        if self.cookie:
            request.headers["Cookie"] = self.cookie
        self.protocol.send_request(request)
        self.flush()

    def data_received(self, data):
        self.buffer += data
        if not self.opened.done():
            # Hand websockets exactly the HTTP response (it checks the handshake and negotiates
            # extensions); the frames after it are ours to parse.
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[: end + 4])
            del self.buffer[: end + 4]
            self.protocol.receive_data(head)
            response = next((e for e in self.protocol.events_received() if isinstance(e, Response)), None)
            if response is None or response.status_code != 101 or self.protocol.state.name != "OPEN":
                status = response.status_code if response is not None else "no response"
                self.opened.set_exception(RuntimeError(f"websocket handshake got {status}"))
                self.transport.close()
                return
            if any(ext.name == "permessage-deflate" for ext in self.protocol.extensions):
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.opened.set_result(True)
        self.parse_frames()

    def parse_frames(self):
        buffer = self.buffer
        position = 0
        size = len(buffer)
        while size - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 4], "big")
                header = 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
                header = 10
            end = position + header + length
            if end > size:
                break
            self.handle_frame(first & 0x0F, bytes(buffer[position + header : end]), first & 0x40, first & 0x80)
            position = end
        del buffer[:position]

    def handle_frame(self, opcode, payload, compressed, fin=True):
        if opcode == 0x0 or not fin:  # fragmented message: gather it (rare: servers send small frames whole)
            self.fragments = (self.fragments or []) + [payload]
            if opcode != 0x0:
                self.fragment_opcode, self.fragment_compressed = opcode, compressed
            if not fin:
                return
            payload, opcode, compressed = b"".join(self.fragments), self.fragment_opcode, self.fragment_compressed
            self.fragments = None
        if opcode == 0x1:
            if compressed and self.inflater is not None:
                payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
            self.on_text(self, payload.decode())
        elif opcode == 0x9:  # ping
            self.protocol.send_pong(payload)
            self.flush()
        elif opcode == 0x8:  # close: answer it and let the server end the TCP connection
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.closing = True
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(close_frame(1000))
                self.transport.close()

    def flush(self):
        data = self.protocol.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            chunks = [chunk for chunk in data if chunk]
            if chunks:
                self.transport.write(b"".join(chunks))

    def send_text(self, text):
        """Write a text frame; False when the connection is already closed (nothing was sent)."""
        if self.transport is None or self.transport.is_closing():
            return False
        self.protocol.send_text(text.encode())
        self.flush()
        return True

    def close(self):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(close_frame(1000))
            self.transport.close()

    def connection_lost(self, exc):
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost before the handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)


def close_frame(code):
    """A masked close frame (client frames must be masked; a zero mask leaves the payload as is)."""
    return bytes([0x88, 0x80 | 2, 0, 0, 0, 0]) + code.to_bytes(2, "big")


async def open_member(url, origin, cookie, deflate, on_text):
    parts = urllib.parse.urlsplit(url)
    loop = asyncio.get_running_loop()
    _, member = await loop.create_connection(
        lambda: Member(url, origin, cookie, deflate, on_text), parts.hostname, parts.port
    )
    await asyncio.wait_for(member.opened, CONNECT_TIMEOUT)
    return member


# --- one worker process: its share of rooms, connected, then sending and receiving ------------


class Tally:
    """What one worker's members received."""

    def __init__(self):
        self.latencies_ms = array("d")
        self.seen = {}  # member index -> set of tokens received
        self.duplicates = 0
        self.errors = {}
        self.other_frames = 0
        self.last_receive = 0.0


def ws_url(base, code):
    parts = urllib.parse.urlsplit(base)
    return f"ws://{parts.netloc}/ws/rooms/{code}/"


async def connect_rooms(config, worker, room_indexes, tally, on_text):
    """Enter every assigned room with `members` members; returns [(room index, [Member...])]."""
    urls = config["urls"]
    semaphore = asyncio.Semaphore(HTTP_CONCURRENCY)

    async def enter(room_index, member_index, code):
        base = urls[member_index % len(urls)]
        name = f"w{worker}r{room_index}m{member_index}"
        if config["floor"]:
            cookie = ""
            began = http_done = time.time()
        else:
            async with semaphore:
                began = time.time()
                code, cookies = await asyncio.to_thread(browser_enter_room, base, name, code)
                http_done = time.time()
            cookie = f"sessionid={cookies['sessionid']}"
        member = await open_member(ws_url(base, code), base, cookie, config["deflate"], on_text)
        member.began, member.http_done, member.opened_at = began, http_done, time.time()
        member.index = (room_index, member_index)
        member.room = room_index
        tally.seen[member.index] = set()
        return code, member

    async def fill(room_index):
        code = f"FLOOR{room_index}" if config["floor"] else None
        code, first = await enter(room_index, 0, code)
        rest = await asyncio.gather(*(enter(room_index, m, code) for m in range(1, config["members"])))
        return room_index, [first] + [member for _, member in rest]

    return await asyncio.wait_for(asyncio.gather(*(fill(r) for r in room_indexes)), config["connect_timeout"])


def make_receiver(tally):
    loads = json.loads
    now = time.monotonic

    def on_text(member, text):
        if text.startswith('{"type":"history"'):
            # A member whose join the server was still completing gets early messages in its
            # history frame: delivered all the same, as the browser shows them.
            for message in loads(text)["messages"]:
                if message["body"].startswith("tok:"):
                    record(member, message["body"])
            return
        if not text.startswith('{"type":"message"'):
            if text.startswith('{"type":"error"'):
                code = loads(text).get("code")
                tally.errors[code] = tally.errors.get(code, 0) + 1
            else:
                tally.other_frames += 1
            return
        # Tokens hold no quotes or escapes, so the body is found without decoding the whole frame.
        start = text.find('"body":"tok:')
        if start < 0:
            return  # a message not sent by this run
        start += 8
        record(member, text[start : text.index('"', start)])

    def record(member, body):
        received = now()
        seen = tally.seen[member.index]
        if body in seen:
            tally.duplicates += 1
            return
        seen.add(body)
        scheduled = float(body.rsplit(":", 1)[1])
        tally.latencies_ms.append((received - scheduled) * 1000.0)
        tally.last_receive = received

    return on_text


async def send_schedule(member, worker, count, rate, start, phase):
    """Send `count` messages at fixed times start + phase + k/rate (open loop); returns how many
    were written (a connection the server closed sends nothing, and nothing is expected of it)."""
    sleep = asyncio.sleep
    now = time.monotonic
    room, index = member.index
    written = 0
    for seq in range(count):
        scheduled = start + phase + seq / rate
        delay = scheduled - now()
        if delay > 0:
            await sleep(delay)
        token = f"tok:{worker}:{room}:{index}:{seq}:{scheduled:.6f}"
        written += member.send_text(json.dumps({"type": "message", "body": token, "client_id": token[:64]}))
    return written


async def worker_chat(config, worker, room_indexes, pipe):
    tally = Tally()
    rooms = await connect_rooms(config, worker, room_indexes, tally, make_receiver(tally))
    members = [member for _, room_members in rooms for member in room_members]
    await asyncio.sleep(config["settle"])  # join and presence frames die down
    pipe.send(("ready", len(members)))
    _, start = await asyncio.to_thread(pipe.recv)
    count = int(config["rate"] * config["duration"])
    rate = config["rate"]
    senders = [
        send_schedule(member, worker, count, rate, start, (i * 0.6180339887 % 1.0) / rate)
        for i, member in enumerate(members)
    ]
    sent = sum(await asyncio.gather(*senders))
    last_send = time.monotonic()
    unsent = count * len(members) - sent
    expected = sent * config["members"]  # every member of the sender's room gets each message
    deadline = last_send + config["drain"]
    while time.monotonic() < deadline:
        received = sum(len(s) for s in tally.seen.values())
        if received >= expected:
            break
        await asyncio.sleep(0.05)
    closed_by_server = sum(1 for m in members if m.closed.done())
    close_codes = sorted({m.close_code for m in members if m.closed.done() and m.close_code})
    for member in members:
        member.close()
    await asyncio.sleep(0.2)
    return {
        "connections": len(members),
        "sent": sent,
        "unsent": unsent,
        "expected": expected,
        "received": sum(len(s) for s in tally.seen.values()),
        "duplicates": tally.duplicates,
        "errors": tally.errors,
        "closed_by_server": closed_by_server,
        "close_codes": close_codes,
        "latencies_ms": tally.latencies_ms.tobytes(),
        "start": start,
        "last_receive": tally.last_receive,
    }


async def worker_idle(config, worker, room_indexes, pipe):
    tally = Tally()
    rooms = await connect_rooms(config, worker, room_indexes, tally, lambda member, text: None)
    members = [member for _, room_members in rooms for member in room_members]
    pipe.send(("ready", len(members)))
    await asyncio.to_thread(pipe.recv)  # hold the connections until the RSS is measured
    closed = sum(1 for m in members if m.closed.done())
    for member in members:
        member.close()
    await asyncio.sleep(0.2)
    return {"connections": len(members), "closed_by_server": closed}


async def warm_up(config):
    """A throwaway room fills up the way the measured ones do (the same members, joining at once
    through the real flow), gets its first frames and empties: what a server sets up once, the
    first time each of its threads serves a join (imports, templates, caches, each thread's database
    connection and allocator arena), is then not counted as the memory of the connections measured
    after it."""
    tally = Tally()
    first_frames = set()
    [(_, members)] = await connect_rooms(config, "warm", [0], tally, lambda member, text: first_frames.add(member))
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while not config["floor"] and len(first_frames) < len(members) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for member in members:
        member.close()
    await asyncio.wait_for(asyncio.gather(*(member.closed for member in members)), CONNECT_TIMEOUT)


async def worker_joins(config, worker, room_indexes, pipe):
    """Join every assigned room through the real flow at once; report when each member was in
    (its first frame from the server: the history; the floor sends none, so its open counts)."""
    tally = Tally()
    first_frame = {}

    def on_text(member, text):
        first_frame.setdefault(member, time.time())

    rooms = await connect_rooms(config, worker, room_indexes, tally, on_text)
    members = [member for _, room_members in rooms for member in room_members]
    deadline = time.monotonic() + 30
    while not config["floor"] and len(first_frame) < len(members) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    timings = [
        (m.began, m.http_done, m.opened_at if config["floor"] else first_frame.get(m, float("nan"))) for m in members
    ]
    pipe.send(("ready", timings))
    await asyncio.to_thread(pipe.recv)  # hold the connections while the server settles
    for member in members:
        member.close()
    await asyncio.sleep(0.2)
    return {"connections": len(members)}


def worker_main(mode, config, worker, room_indexes, pipe):
    raise_fd_limit()
    if config.get("priority"):
        os.nice(config["priority"])
    runner = {"chat": worker_chat, "idle": worker_idle, "joins": worker_joins}[mode]
    coroutine = runner(config, worker, room_indexes, pipe)
    try:
        result = uvloop.run(coroutine) if uvloop else asyncio.run(coroutine)
        pipe.send(("done", result))
    except BaseException as error:  # report it: the parent must not wait forever
        pipe.send(("failed", f"{type(error).__name__}: {error}"))


# --- the parent: start workers, release them together, merge results --------------------------


def server_processes(pids):
    import psutil

    processes = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            processes.append(process)
            processes.extend(process.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return processes


def cpu_seconds(processes):
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except Exception:
            pass
    return total


def rss_bytes(processes):
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except Exception:
            pass
    return total


def start_workers(mode, config, rooms, workers):
    context = multiprocessing.get_context("fork")
    handles = []
    for worker in range(min(workers, rooms)):
        parent_end, child_end = context.Pipe()
        room_indexes = list(range(worker, rooms, workers))
        process = context.Process(target=worker_main, args=(mode, config, worker, room_indexes, child_end), daemon=True)
        process.start()
        handles.append((process, parent_end))
    return handles


def receive(pipe, timeout, expect):
    if not pipe.poll(timeout):
        raise TimeoutError(f"a load worker did not report {expect!r} within {timeout:.0f} s")
    kind, payload = pipe.recv()
    if kind == "failed":
        raise RuntimeError(f"a load worker failed: {payload}")
    if kind != expect:
        raise RuntimeError(f"a load worker said {kind!r}, expected {expect!r}")
    return payload


def stop_workers(handles):
    for process, _ in handles:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_chat(
    urls,
    rooms,
    members,
    rate,
    duration,
    server_pids=(),
    workers=2,
    floor=False,
    deflate=True,
    settle=1.0,
    drain=10.0,
    connect_timeout=120.0,
    priority=0,
):
    """Run one chat scenario and return its measurements (a dict)."""
    config = {
        "urls": list(urls),
        "members": members,
        "rate": rate,
        "duration": duration,
        "floor": floor,
        "deflate": deflate,
        "settle": settle,
        "drain": drain,
        "connect_timeout": connect_timeout,
        "priority": priority,
    }
    handles = start_workers("chat", config, rooms, workers)
    try:
        connections = sum(receive(pipe, connect_timeout + 30, "ready") for _, pipe in handles)
        processes = server_processes(server_pids)
        cpu_before = cpu_seconds(processes)
        start = time.monotonic() + 0.5
        for _, pipe in handles:
            pipe.send(("go", start))
        if os.environ.get("LOADGEN_GO_FILE"):  # lets a profiler attach for the sending phase only
            open(os.environ["LOADGEN_GO_FILE"], "w").close()
        results = [receive(pipe, duration + drain + 60, "done") for _, pipe in handles]
        cpu_used = cpu_seconds(processes) - cpu_before
    finally:
        stop_workers(handles)
    latencies = array("d")
    for result in results:
        latencies.frombytes(result["latencies_ms"])
    latencies = sorted(latencies)
    received = sum(r["received"] for r in results)
    expected = sum(r["expected"] for r in results)
    last = max((r["last_receive"] for r in results), default=0.0)
    elapsed = max(last - start, 1e-9)
    errors = {}
    for result in results:
        for code, n in result["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "rooms": rooms,
        "members": members,
        "rate": rate,
        "duration": duration,
        "connections": connections,
        "sent": sum(r["sent"] for r in results),
        "unsent": sum(r["unsent"] for r in results),
        "expected": expected,
        "delivered": received,
        "lost": expected - received,
        "duplicates": sum(r["duplicates"] for r in results),
        "errors": errors,
        "closed_by_server": sum(r["closed_by_server"] for r in results),
        "close_codes": sorted(set(itertools.chain.from_iterable(r["close_codes"] for r in results))),
        "delivered_per_s": received / elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
        "server_cpu_s": cpu_used,
        "cpu_ms_per_1000": (cpu_used * 1000.0) / (received / 1000.0) if received else float("nan"),
    }


def connect_only_config(urls, members, floor, deflate, connect_timeout, priority):
    """A workers' config for scenarios that only connect (idle, joins): nothing is sent."""
    return {
        "urls": list(urls),
        "members": members,
        "rate": 0,
        "duration": 0,
        "floor": floor,
        "deflate": deflate,
        "settle": 0,
        "drain": 0,
        "connect_timeout": connect_timeout,
        "priority": priority,
    }


def run_idle(
    urls,
    connections,
    server_pids,
    workers=2,
    floor=False,
    deflate=True,
    per_room=20,
    settle=2.0,
    connect_timeout=180.0,
    priority=0,
    warm=True,
):
    """Open `connections` idle websockets; return the server's RSS growth per connection (after a
    throwaway member's join and leave, unless `warm` is false)."""
    rooms = max(1, connections // per_room)
    config = connect_only_config(urls, per_room, floor, deflate, connect_timeout, priority)
    if warm:
        asyncio.run(warm_up(config))
        time.sleep(settle)
    processes = server_processes(server_pids)
    rss_before = rss_bytes(processes)
    handles = start_workers("idle", config, rooms, workers)
    try:
        opened = sum(receive(pipe, connect_timeout + 30, "ready") for _, pipe in handles)
        time.sleep(settle)
        rss_after = rss_bytes(server_processes(server_pids))
        for _, pipe in handles:
            pipe.send(("release", None))
        results = [receive(pipe, 60, "done") for _, pipe in handles]
    finally:
        stop_workers(handles)
    return {
        "connections": opened,
        "closed_by_server": sum(r["closed_by_server"] for r in results),
        "rss_before_mib": rss_before / 2**20,
        "rss_after_mib": rss_after / 2**20,
        "kib_per_connection": (rss_after - rss_before) / 1024 / max(opened, 1),
    }


def run_joins(
    urls,
    rooms,
    members,
    server_pids,
    workers=2,
    floor=False,
    deflate=True,
    connect_timeout=180.0,
    priority=0,
    idle_cpu_percent=5.0,
    settle_limit=10.0,
):
    """A join storm: `rooms` × `members` people enter at once through the real flow (form, room
    page, websocket). Returns how long until all were in, the HTTP flow's rate, join latencies,
    and how soon after the last join the server was idle again (CPU under `idle_cpu_percent`)."""
    config = connect_only_config(urls, members, floor, deflate, connect_timeout, priority)
    processes = server_processes(server_pids)
    rss_before = rss_bytes(processes)
    handles = start_workers("joins", config, rooms, workers)
    try:
        timings = [t for _, pipe in handles for t in receive(pipe, connect_timeout + 30, "ready")]
        processes = server_processes(server_pids)
        joined = [t for t in timings if t[2] == t[2]]  # NaN: never got a frame
        last_join = max(t[2] for t in joined)
        # Idle again: the first half-second window, from the last join on, under the threshold.
        settled = float("nan")
        window, cpu = 0.5, cpu_seconds(processes)
        started = time.time()
        while time.time() - last_join < settle_limit:
            time.sleep(window)
            now, used = time.time(), cpu_seconds(processes)
            if (used - cpu) / window * 100 < idle_cpu_percent:
                settled = max(now - last_join, 0.0)
                break
            cpu = used
        rss_after = rss_bytes(processes)
        for _, pipe in handles:
            pipe.send(("release", None))
        for _, pipe in handles:
            receive(pipe, 60, "done")
    finally:
        stop_workers(handles)
    first = min(t[0] for t in timings)
    latencies = sorted((t[2] - t[0]) * 1000.0 for t in joined)
    http_end = max(t[1] for t in timings)
    return {
        "connections": len(timings),
        "joined": len(joined),
        "storm_s": last_join - first,
        "http_joins_per_s": len(timings) / max(http_end - first, 1e-9) if not floor else float("nan"),
        "join_p50_ms": percentile(latencies, 0.50),
        "join_p99_ms": percentile(latencies, 0.99),
        "settled_s": settled,
        "settle_checked_after_s": started - last_join,
        "kib_per_connection": (rss_after - rss_before) / 1024 / max(len(timings), 1),
    }


def format_joins(result):
    return (
        f"{result['joined']}/{result['connections']} in {result['storm_s']:.2f} s  "
        f"http {result['http_joins_per_s']:.0f} joins/s  join p50 {result['join_p50_ms']:.0f}  "
        f"p99 {result['join_p99_ms']:.0f} ms  idle {result['settled_s']:.2f} s after the last  "
        f"{result['kib_per_connection']:.1f} KiB/conn"
    )


def format_chat(result):
    return (
        f"{result['delivered_per_s']:9.0f} deliv/s  lost {result['lost']}  dup {result['duplicates']}  "
        f"p50 {result['p50_ms']:.1f}  p90 {result['p90_ms']:.1f}  p99 {result['p99_ms']:.1f}  "
        f"max {result['max_ms']:.1f} ms  cpu {result['cpu_ms_per_1000']:.1f} ms/1000"
        + (f"  errors {result['errors']}" if result["errors"] else "")
        + (f"  closed {result['closed_by_server']} {result['close_codes']}" if result["closed_by_server"] else "")
        + (f"  unsent {result['unsent']} (their connection was closed)" if result["unsent"] else "")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["chat", "idle", "joins"])
    parser.add_argument("--url", action="append", required=True, help="server base URL (repeat for several)")
    parser.add_argument("--server-pid", type=int, action="append", default=[], help="measure this PID's CPU/RSS")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--members", type=int, default=25)
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second per member")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=1000, help="idle mode: connections to open")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--floor", action="store_true", help="target bench/floor_server.py (no HTTP flow)")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    parser.add_argument("--no-warm-up", action="store_true", help="idle mode: measure from the server's start")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    raise_fd_limit()
    urls = [url.rstrip("/") for url in args.url]
    if args.mode == "chat":
        result = run_chat(
            urls,
            args.rooms,
            args.members,
            args.rate,
            args.duration,
            args.server_pid,
            args.workers,
            args.floor,
            not args.no_deflate,
        )
        print(json.dumps(result) if args.json else format_chat(result))
    elif args.mode == "joins":
        result = run_joins(
            urls, args.rooms, args.members, args.server_pid, args.workers, args.floor, not args.no_deflate
        )
        print(json.dumps(result) if args.json else format_joins(result))
    else:
        result = run_idle(
            urls,
            args.connections,
            args.server_pid,
            args.workers,
            args.floor,
            not args.no_deflate,
            warm=not args.no_warm_up,
        )
        print(
            json.dumps(result)
            if args.json
            else f"{result['connections']} idle connections: {result['kib_per_connection']:.1f} KiB each"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
