"""The real app as a server process on 127.0.0.1, for tests that need a real listening server.

One launcher for the browser, restart and multi-process tests (and scripts/screenshots.py), so they
all start, wait for and stop servers the same way. A server keeps its port across stop/kill and
start, which is what a deploy or a crash looks like to connected clients.
"""

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 60  # a cold Django start on a busy 2-core machine
STOP_TIMEOUT_SECONDS = 10


def free_port():
    """A port nothing listens on right now (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def daphne_command():
    """daphne serving the app; "{port}" is filled in per server."""
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "chatsite.asgi:application"]


class LiveServer:
    """A server process on 127.0.0.1:port (`command`, daphne by default).

    With `sqlite_path` it runs on that SQLite file alone, migrated before the first start, and without
    the shared DATABASE_URL/REDIS_URL, so it never touches the developer's or another test's data.
    With `env` instead it runs with exactly that environment (e.g. the production test database).
    """

    def __init__(self, sqlite_path=None, *, extra_env=None, env=None, command=None, port=None, log_path=None):
        if (sqlite_path is None) == (env is None):
            raise ValueError("give either sqlite_path or env")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [part.format(port=self.port) for part in (command or daphne_command())]
        self.sqlite_path = Path(sqlite_path) if sqlite_path is not None else None
        if self.sqlite_path is not None:
            # Its own data only, and no settings from the developer's shell.
            shared = ("DATABASE_URL", "REDIS_URL", "DEBUG")
            env = {name: value for name, value in os.environ.items() if name not in shared}
            env["SQLITE_PATH"] = str(self.sqlite_path)
            env["MEDIA_ROOT"] = str(self.sqlite_path.with_suffix(".media"))  # uploads beside its database
        # Leave notices at once unless a test asks for the grace period (extra_env).
        # Every test browser and client shares 127.0.0.1: per-IP budgets are lifted unless a test sets them.
        defaults = {
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "PRESENCE_GRACE_SECONDS": "0",
            "NEW_JOINS_PER_IP_PER_MINUTE": "100000",
            "ROOM_CREATE_PER_IP_PER_HOUR": "100000",
            "WS_CONNECTS_PER_IP_PER_MINUTE": "100000",
        }
        self.env = {**defaults, **env, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.log_path = Path(log_path) if log_path else self.sqlite_path.with_suffix(".log")
        self.needs_migration = self.sqlite_path is not None
        self.process = None

    def migrate(self):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=PROJECT_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.needs_migration = False

    def run_python(self, code):
        """Run Python in `manage.py shell -c` against this server's database; returns what it prints.

        For seed data no client could make quickly (e.g. a long history, which rate limits would slow).
        """
        if self.needs_migration:
            self.migrate()
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py shell failed ({result.returncode}):\n{result.stderr}")
        return result.stdout

    def start(self):
        self.spawn()
        self.wait_healthy()

    def spawn(self):
        """Start the process without waiting for it (to start several servers side by side)."""
        if self.needs_migration:
            self.migrate()
        with open(self.log_path, "ab") as log:  # appended to across restarts
            # Its own session: a Ctrl-C meant for pytest does not kill it before the fixtures stop it.
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_healthy(self):
        """Wait until /healthz answers 200; if it never does, stop the process and fail with its log."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
        described = f"`{shlex.join(self.command)}`"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{described} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with opener.open(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:  # not listening yet, or not answering yet
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{described} did not answer /healthz within {START_TIMEOUT_SECONDS} s:\n{self.log_tail()}")

    def stop(self):
        """SIGTERM (a graceful shutdown); SIGKILL if it has not exited in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.process = None

    def kill(self):
        """SIGKILL: no goodbye and no cleanup, like a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.process = None

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
