"""Concurrent transcript downloads (not a unit test): a room of MESSAGES long messages, DOWNLOADS
sessions downloading its text transcript at once; prints the server's peak memory growth and the
slowest time to first byte.

    .venv/bin/python bench/downloads.py --messages 20000 --downloads 10

Starts its own uvicorn on a free 127.0.0.1 port with a fresh SQLite file (--project serves another
checkout, for a before/after comparison).
"""

import argparse
import subprocess
import sys
import threading
import time
from http.cookiejar import CookieJar
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "bench"))
from churn import Person, Server  # noqa: E402
from soak import opener  # noqa: E402

SEED = """
from django.utils import timezone
from rooms.models import Message, Room
from rooms.services.rooms import create_room
room = create_room()
now = timezone.now()
body = "x" * {size}
Message.objects.bulk_create(
    [Message(room=room, name="Ann", body=f"{{n}} {{body}}", created_at=now, seq=n + 1) for n in range({count})],
    batch_size=2000,
)
Room.objects.filter(pk=room.pk).update(last_seq={count})
print(room.code)
"""


def seed(server, count, size):
    python = str(PROJECT / ".venv" / "bin" / "python")
    command = [python, "manage.py", "shell", "--no-imports", "-c", SEED.format(count=count, size=size)]
    done = subprocess.run(command, cwd=server.project, env=server.env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def download(url, cookies, results):
    started = time.monotonic()
    with opener(cookies).open(url, timeout=300) as response:
        first = response.read(1)
        results.setdefault("first_byte", []).append(time.monotonic() - started)
        size = len(first)
        while chunk := response.read(1 << 16):
            size += len(chunk)
    results.setdefault("sizes", []).append(size)
    results.setdefault("total", []).append(time.monotonic() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--size", type=int, default=1000, help="characters per message")
    parser.add_argument("--downloads", type=int, default=10)
    parser.add_argument("--project", default=str(PROJECT))
    args = parser.parse_args()
    server = Server(args.project, "", "")
    server.start()
    try:
        code = seed(server, args.messages, args.size)
        people = []
        for number in range(args.downloads):
            person = Person(server.url, f"Reader {number}")
            person.cookies = CookieJar()
            person.enter(code)
            opener(person.cookies).open(f"{server.url}/rooms/{code}/", timeout=30).read()
            people.append(person)
        baseline, peak = server.rss_mib(), server.rss_mib()
        results = {}
        url = f"{server.url}/rooms/{code}/transcript.text"
        threads = [threading.Thread(target=download, args=(url, p.cookies, results)) for p in people]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            peak = max(peak, server.rss_mib())
            time.sleep(0.05)
        print(
            f"{args.downloads} downloads of a {max(results['sizes']) / 2**20:.1f} MiB transcript: "
            f"server RSS {baseline} MiB -> peak {peak} MiB (+{peak - baseline} MiB); "
            f"slowest first byte {max(results['first_byte']):.2f} s; slowest whole {max(results['total']):.2f} s"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
