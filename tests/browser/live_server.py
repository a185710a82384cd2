"""The real app served by daphne in a subprocess, for the browser tests and the screenshots.

Each server gets its own SQLite file (SQLITE_PATH), migrated before the first start, so tests never
touch the developer's database. `restart()` kills the process and starts a new one on the same port
and database, which is what a deploy or crash looks like to an open page.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30


def free_port():
    """A port nothing listens on right now (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, db_path, port=None, extra_env=None):
        self.db_path = Path(db_path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.db_path.with_suffix(".log")
        self.process = None
        self.env = {
            **os.environ,
            "SQLITE_PATH": str(self.db_path),
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        # Never aim the app under test at a shared production database or channel layer.
        for name in ("DATABASE_URL", "REDIS_URL"):
            self.env.pop(name, None)
        self.migrated = False

    def migrate(self):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=PROJECT_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.migrated = True

    def run_python(self, code):
        """Run Python in `manage.py shell -c` against this server's database; returns what it prints.

        For seed data no browser could make quickly (e.g. a long history, which rate limits would slow).
        """
        if not self.migrated:
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
        if not self.migrated:
            self.migrate()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process writes to it until stopped
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "chatsite.asgi:application"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.wait_healthy()

    def wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"daphne did not answer /healthz within {START_TIMEOUT_SECONDS}s:\n{self.log_tail()}")

    def stop(self, kill=False):
        """Stop the server: SIGTERM (graceful) or, with kill=True, SIGKILL (a crash)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self):
        self.stop(kill=True)
        self.start()

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
