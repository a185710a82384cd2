"""Run roomchat's standard benchmark scenarios against servers this script starts itself.

Every server listens on a free 127.0.0.1 port with its own temporary SQLite database (or, with
`--processes 2`, two servers share PostgreSQL `roomchat_bench` (`--database`) and Redis DB 11 under
that name as key prefix), and the floor
(bench/floor_server.py) runs in the same session so each roomchat result prints its ratio to it.
Each scenario runs `--repeats` times per server (fresh server each time) and the table shows the
medians, because other work on this machine makes single runs noisy.

    python bench/run.py                       # standard set: heavy, light, idle; floor + uvicorn
    python bench/run.py --quick               # small, one repeat: a smoke test
    python bench/run.py --servers floor,uvicorn,daphne --scenarios heavy
    python bench/run.py --processes 2 --layer core
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402

PYTHON = sys.executable
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/11"
DATABASE = "roomchat_bench"  # also the Redis key prefix: runs with different names stay apart

# name: (rooms, members, msgs/s per member, seconds); idle: connections.
SCENARIOS = {
    "heavy": {"rooms": 20, "members": 25, "rate": 2.0, "duration": 10.0},
    "light": {"rooms": 10, "members": 10, "rate": 1.0, "duration": 10.0},
    "idle": {"connections": 1000},
    "joins": {"rooms": 10, "members": 100},
    "bigroom": {"rooms": 1, "members": 1000},
}
QUICK = {
    "heavy": {"rooms": 5, "members": 10, "rate": 2.0, "duration": 3.0},
    "light": {"rooms": 3, "members": 5, "rate": 1.0, "duration": 3.0},
    "idle": {"connections": 100},
    "joins": {"rooms": 4, "members": 25},
    "bigroom": {"rooms": 1, "members": 100},
}
JOIN_SCENARIOS = ("joins", "bigroom")


def uvicorn_command(ws):
    """uvicorn as `make run` starts it, with the given websockets implementation."""
    return [
        *(PYTHON, "-m", "uvicorn", "chatsite.asgi:application", "--host", "127.0.0.1", "--port", "{port}"),
        *("--loop", "uvloop", "--http", "httptools", "--ws", ws, "--ws-per-message-deflate", "false"),
        *("--lifespan", "off", "--no-access-log", "--log-level", "warning"),
    ]


# The commands `make run` uses (uvicorn, with its sans-I/O websockets writing through
# chatsite/websocket_protocol.py) and the alternatives, for comparison: daphne, uvicorn's plain
# sans-I/O protocol and its deprecated websockets implementation.
SERVER_COMMANDS = {
    "uvicorn": uvicorn_command("chatsite.websocket_protocol:CoalescingWebSocketProtocol"),
    "uvicorn-sansio": uvicorn_command("websockets-sansio"),
    "uvicorn-legacy": uvicorn_command("websockets"),
    "daphne": [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "-v", "0", "chatsite.asgi:application"],
    "floor": [PYTHON, str(BENCH / "floor_server.py"), "--port", "{port}"],
}

# The production path as a server of its own, measured in the same run as the others: two
# processes of a command above over PostgreSQL + Redis (the default pubsub layer), every room's
# members spread over both so that every message crosses processes.
PRODUCTION_SERVERS = {"uvicorn-pg": ("uvicorn", 2)}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, log_path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{Path(log_path).read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"server did not listen on {port} within {timeout} s")


class Servers:
    """Start `count` servers of one kind on free ports; stop them on exit."""

    def __init__(self, kind, count, workdir, env, priority=0):
        self.kind, self.count, self.workdir, self.env, self.priority = kind, count, workdir, env, priority
        self.processes, self.ports = [], []

    def __enter__(self):
        for number in range(self.count):
            port = free_port()
            command = [part.format(port=port) for part in SERVER_COMMANDS[self.kind]]
            log_path = Path(self.workdir) / f"{self.kind}-{number}.log"
            log = open(log_path, "w")  # noqa: SIM115 - closed with the process
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=self.set_priority
            )
            self.processes.append(process)
            self.ports.append(port)
            wait_for_port(port, process, log_path)
        return self

    def set_priority(self):
        if self.priority:
            os.nice(self.priority)

    @property
    def urls(self):
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    @property
    def pids(self):
        return [process.pid for process in self.processes]

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# The load generator is thousands of clients behind one address: lift the per-IP and per-session budgets.
ONE_ADDRESS_LIMITS = {
    "WS_MAX_CONNECTIONS_PER_IP": "1000000",
    "NEW_JOINS_PER_IP_PER_MINUTE": "1000000",
    "ROOM_CREATE_PER_IP_PER_HOUR": "1000000",
    "WS_CONNECTS_PER_SESSION_PER_MINUTE": "1000000",
    "WS_CONNECTS_PER_IP_PER_MINUTE": "1000000",
}


def django_env(workdir, processes, layer, shared=False, database=DATABASE):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="chatsite.settings", LOG_LEVEL="ERROR", **ONE_ADDRESS_LIMITS)
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if processes > 1 or shared:
        # No collectstatic here: plain static storage (the benchmark is about websockets).
        env.update(
            DATABASE_URL=f"{PG_SERVER}/{database}",
            REDIS_URL=REDIS_URL,
            REDIS_PREFIX=database,
            SECRET_KEY="roomchat-bench-only",
            STATIC_MANIFEST="0",
        )
        if layer:
            env["REDIS_CHANNEL_LAYER"] = layer
    else:
        env["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    return env


def prepare_database(env, processes):
    """A fresh schema: a new SQLite file, or the PostgreSQL database emptied (and its Redis keys)."""
    shared = "DATABASE_URL" in env
    if shared:
        import psycopg
        from psycopg import sql

        database = env["REDIS_PREFIX"]
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    else:
        with contextlib.suppress(FileNotFoundError):
            for suffix in ("", "-wal", "-shm"):
                os.unlink(env["SQLITE_PATH"] + suffix)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    if shared:
        import psycopg
        import redis

        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(
                "TRUNCATE rooms_message, rooms_presence, rooms_serverprocess, rooms_room, django_session CASCADE"
            )
        # Only this run's keys: another run with another --database may share the Redis DB.
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{database}*", count=1000):
            client.delete(key)


def run_once(
    kind, scenario, params, processes, layer, workers, deflate, priority=0, shared=False, database=DATABASE, warm=True
):
    with tempfile.TemporaryDirectory(prefix="roomchat-bench-") as workdir:
        floor = kind == "floor"
        env = django_env(workdir, processes if not floor else 1, layer, shared and not floor, database)
        if not floor:
            prepare_database(env, processes)
        with Servers(kind, processes if not floor else 1, workdir, env, priority) as servers:
            if scenario in JOIN_SCENARIOS:
                return loadgen.run_joins(
                    servers.urls,
                    params["rooms"],
                    params["members"],
                    servers.pids,
                    workers,
                    floor,
                    deflate,
                    priority=priority,
                )
            if scenario == "idle":
                return loadgen.run_idle(
                    servers.urls,
                    params["connections"],
                    servers.pids,
                    workers,
                    floor,
                    deflate,
                    priority=priority,
                    warm=warm,
                )
            return loadgen.run_chat(
                servers.urls,
                params["rooms"],
                params["members"],
                params["rate"],
                params["duration"],
                servers.pids,
                workers,
                floor,
                deflate,
                priority=priority,
            )


def median_of(runs):
    """Medians of the numeric measurements; worst case of lost/duplicates/closed."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values = [run[key] for run in runs]
            merged[key] = (
                max(values) if key in ("lost", "duplicates", "closed_by_server") else statistics.median(values)
            )
    merged["runs"] = len(runs)
    return merged


def describe(scenario, params):
    if scenario == "idle":
        return f"idle {params['connections']} conns"
    if scenario in JOIN_SCENARIOS:
        return f"{scenario} {params['rooms']}×{params['members']}"
    return f"{scenario} {params['rooms']}×{params['members']}×{params['rate']:g}/s×{params['duration']:g}s"


def table(results, processes, layer):
    lines = [
        "| scenario | server | procs | delivered/s | lost | dup | p50 ms | p90 ms | p99 ms | max ms "
        "| CPU-ms/1000 | × floor | KiB/conn |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    floors = {r["scenario"]: r for r in results if r["server"] == "floor"}
    for r in results:
        floor = floors.get(r["scenario"])
        if r["scenario"] in JOIN_SCENARIOS:
            continue
        if r["scenario"] == "idle":
            ratio = f"{r['kib_per_connection'] / floor['kib_per_connection']:.2f}" if floor and r is not floor else ""
            lines.append(
                f"| {r['label']} | {r['server']} | {r['procs']} | | | | | | | | | {ratio} "
                f"| {r['kib_per_connection']:.1f} |"
            )
            continue
        ratio = f"{r['cpu_ms_per_1000'] / floor['cpu_ms_per_1000']:.2f}" if floor and r is not floor else ""
        lines.append(
            f"| {r['label']} | {r['server']} | {r['procs']} | {r['delivered_per_s']:.0f} | {r['lost']} "
            f"| {r['duplicates']} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.0f} "
            f"| {r['cpu_ms_per_1000']:.1f} | {ratio} | |"
        )
    joins = [r for r in results if r["scenario"] in JOIN_SCENARIOS]
    if joins:
        lines += [
            "",
            "| join storm | server | procs | all in (s) | HTTP joins/s | join p50 ms | join p99 ms "
            "| idle again after (s) | KiB/conn |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in joins:
            http = "" if r["server"] == "floor" else f"{r['http_joins_per_s']:.0f}"
            lines.append(
                f"| {r['label']} | {r['server']} | {r['procs']} | {r['storm_s']:.2f} | {http} "
                f"| {r['join_p50_ms']:.0f} | {r['join_p99_ms']:.0f} | {r['settled_s']:.2f} "
                f"| {r['kib_per_connection']:.1f} |"
            )
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def update_readme(markdown):
    readme = BENCH / "README.md"
    text = readme.read_text()
    begin, end = "<!-- latest-results -->", "<!-- /latest-results -->"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    readme.write_text(f"{head}{begin}\n{markdown}\n{end}{tail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small scenarios, one repeat (smoke test)")
    parser.add_argument("--scenarios", default="heavy,light,idle,joins,bigroom")
    parser.add_argument(
        "--servers", default="floor,uvicorn", help="any of " + ",".join([*SERVER_COMMANDS, *PRODUCTION_SERVERS])
    )
    parser.add_argument("--processes", type=int, default=1, help="roomchat processes (2: PostgreSQL + Redis)")
    parser.add_argument("--shared", action="store_true", help="PostgreSQL + Redis even for one process")
    parser.add_argument(
        "--database",
        default=DATABASE,
        help="PostgreSQL database (emptied each run) and Redis key prefix for --shared / --processes 2",
    )
    parser.add_argument("--layer", choices=["pubsub", "core"], help="REDIS_CHANNEL_LAYER with --processes 2")
    parser.add_argument("--repeats", type=int, default=None, help="runs per server and scenario (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes")
    parser.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    parser.add_argument("--rate", type=float, help="override messages/s per member (find a server's ceiling)")
    parser.add_argument("--duration", type=float, help="override seconds of sending")
    parser.add_argument(
        "--priority",
        type=int,
        default=0,
        help="nice increment for servers and load clients (negative: ahead of "
        "other work on a shared machine; needs root)",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="idle: measure from the server's start, not after a throwaway member's join and leave",
    )
    parser.add_argument("--update-readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args(argv)
    loadgen.raise_fd_limit()
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = QUICK if args.quick else SCENARIOS
    results = []
    for scenario in args.scenarios.split(","):
        params = dict(sizes[scenario])
        if scenario in ("heavy", "light"):
            params.update({k: v for k, v in (("rate", args.rate), ("duration", args.duration)) if v})
        for kind in args.servers.split(","):
            command, procs = PRODUCTION_SERVERS.get(kind, (kind, 1 if kind == "floor" else args.processes))
            runs = []
            for number in range(repeats):
                run = run_once(
                    command,
                    scenario,
                    params,
                    procs,
                    args.layer,
                    args.workers,
                    not args.no_deflate,
                    args.priority,
                    args.shared or kind in PRODUCTION_SERVERS,
                    args.database,
                    warm=not args.no_warm_up,
                )
                runs.append(run)
                if scenario in JOIN_SCENARIOS:
                    summary = loadgen.format_joins(run)
                elif scenario == "idle":
                    summary = f"{run['kib_per_connection']:.1f} KiB/conn ({run['connections']} conns)"
                else:
                    summary = loadgen.format_chat(run)
                print(f"{describe(scenario, params)} {kind} ×{procs} run {number + 1}: {summary}", flush=True)
            merged = median_of(runs)
            merged.update(scenario=scenario, label=describe(scenario, params), server=kind, procs=procs)
            results.append(merged)
    shared = args.processes > 1 or args.shared
    layer = args.layer or ("Redis (default)" if shared else "in-memory")
    layer += "; PostgreSQL" if shared else "; SQLite"
    production = [kind for kind in args.servers.split(",") if kind in PRODUCTION_SERVERS]
    if production and not shared:
        for kind in production:
            layer += f"; {kind}: {PRODUCTION_SERVERS[kind][1]} processes, PostgreSQL + Redis"
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    header = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()} — `{command.strip()}` — medians of {repeats} "
        f"run(s); channel layer {layer}; load client on the same machine ({args.workers} processes)"
        + (f"; servers and clients at nice {args.priority}" if args.priority else "")
    )
    markdown = f"{header}\n\n{table(results, args.processes, layer)}\n"
    print()
    print(markdown)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps({"header": header, "results": results}, indent=1, default=str))
    (out / f"{stamp}.md").write_text(markdown)
    if args.update_readme:
        update_readme(markdown)
    return 0


if __name__ == "__main__":
    if shutil.which("redis-server") is None and "--processes" in sys.argv:
        print("note: redis-server not on PATH; Redis must already listen on 127.0.0.1:6379", file=sys.stderr)
    sys.exit(main())
