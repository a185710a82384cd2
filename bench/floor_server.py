"""The floor: a minimal plain-`websockets` room broadcast server, with roomchat's frame shape.

No framework, no database, no sessions: `/ws/rooms/<CODE>/` joins a room, every
`{"type":"message",...}` frame is numbered, encoded once and broadcast to the room. Whatever
roomchat costs above this is the price of Django, Channels, persistence and presence; bench/run.py
measures it in the same session so every result can be printed as a ratio to the floor.

    python bench/floor_server.py --port 0   # prints "listening on PORT" once ready
"""

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime

from websockets.asyncio.server import broadcast, serve

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

rooms = defaultdict(set)
next_id = defaultdict(int)


def encode(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


async def handle(connection):
    path = connection.request.path
    if not (path.startswith("/ws/rooms/") and path.endswith("/")):
        await connection.close(4004)
        return
    code = path[len("/ws/rooms/") : -1].upper()
    await connection.send(encode({"type": "history", "messages": [], "has_more": False}))
    members = rooms[code]
    members.add(connection)
    try:
        async for text in connection:
            frame = json.loads(text)
            if frame.get("type") != "message":
                continue
            next_id[code] += 1
            broadcast(
                members,
                encode(
                    {
                        "type": "message",
                        "id": next_id[code],
                        "name": "anon",
                        "body": str(frame.get("body", "")).strip(),
                        "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                        "client_id": frame.get("client_id"),
                    }
                ),
            )
    finally:
        members.discard(connection)


async def main(host, port):
    async with serve(handle, host, port, compression=None, max_queue=None) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="plain websockets broadcast server (benchmark floor)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    runner = uvloop.run if uvloop else asyncio.run
    try:
        runner(main(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)
