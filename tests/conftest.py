import os
import secrets
import subprocess
import sys
import urllib.parse

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from rooms.realtime.hub import stop_hubs
from rooms.services.moderation import new_owner_key
from rooms.services.rooms import create_room
from rooms.services.sessions import remember_owner_key
from tests.live_server import PROJECT_ROOT, LiveServer, free_port
from tests.support.servers import HEARTBEAT_SECONDS, STALE_SECONDS, ChatClient
from tests.support.ws import ORIGIN, room_socket


@pytest.fixture
def room(db):
    return create_room()


@pytest.fixture
def owned_room(db):
    """A room, its owner key, and a factory for sessions (owner or not)."""
    room = create_room()
    key = new_owner_key(room)

    def session(name, owner=False):
        store = SessionStore()
        store["name"] = name
        if owner:
            remember_owner_key(store, room.code, key)
        store.create()
        return store.session_key

    return room, key, session


@pytest.fixture
def session_for():
    """A saved session holding a display name, as the home form leaves it; returns its key."""

    def make(name):
        store = SessionStore()
        store["name"] = name
        store.create()
        return store.session_key

    return make


@pytest.fixture
async def open_socket():
    """Open websocket connections to the real ASGI application; all are closed after the test."""
    opened = []

    async def connect(code, session_key=None, origin=ORIGIN, query="", app=None, watch=None):
        communicator = room_socket(code, session_key, origin=origin, query=query, app=app, watch=watch)
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        return communicator

    yield connect
    for communicator in opened:
        try:
            await communicator.disconnect()
        except Exception:
            pass
    await stop_hubs()


@pytest.fixture(autouse=True)
def no_presence_grace(settings):
    """Leave notices and member lists at once, as most tests expect; the grace period and the pace
    of member lists have tests of their own."""
    settings.PRESENCE_GRACE_SECONDS = 0
    settings.PRESENCE_PUBLISH_SECONDS = 0


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Render plain static names: a staticfiles/ manifest left by `make run` must not leak into tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True


def pytest_runtest_setup(item):
    """Tests marked `production` need the real services; say loudly why they did not run."""
    if item.get_closest_marker("production"):
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            pytest.skip(
                f"PRODUCTION PATH NOT TESTED: {', '.join(missing)} unset. `make test` runs these against "
                "PostgreSQL and Redis in its second pass (scripts/ensure-services.sh starts them)."
            )


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Join-attempt counters live in the cache: every test starts with none. A private in-memory
    cache, since clearing the Redis cache would flush the Redis database other test servers use.
    Template fragments too: a test may change a limit the cached markup shows."""
    from django.core.cache import caches

    from rooms.services.budgets import cache_health

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"},
        "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests-fragments"},
    }
    for alias in settings.CACHES:
        caches[alias].clear()
    cache_health.recovered()  # a test's cache outage must not switch the limits off for the next
    yield
    for alias in settings.CACHES:
        caches[alias].clear()


# --- server processes sharing PostgreSQL and Redis (tests marked production) ----------------


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
        "REDIS_PREFIX": f"{django_settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}-{secrets.token_hex(4)}",
        "SECRET_KEY": django_settings.SECRET_KEY,  # sessions are signed: every process needs the same key
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "STATIC_MANIFEST": "1",
        "PRESENCE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "PRESENCE_STALE_SECONDS": str(STALE_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    started = []

    def start(*commands, extra_env=None):
        servers = []
        for command in commands:
            port = free_port()
            log_path = tmp_path / f"server-{port}.log"
            server = LiveServer(env=env, extra_env=extra_env, command=command, port=port, log_path=log_path)
            server.spawn()
            servers.append(server)
        started.extend(servers)
        for server in servers:
            server.wait_healthy()
        return servers

    yield start
    for server in started:
        server.stop()


@pytest.fixture
async def clients():
    opened = []

    async def open_client(visitor, code, server, after=None, watch=None, after_seq=None):
        client = await ChatClient(visitor, code, watch).open(server, after, after_seq)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        try:
            await client.close()
        except Exception:
            pass


@pytest.fixture
def long_budget_window(monkeypatch):
    """The bot budget's fixed window made a day long: a flood test never straddles two windows,
    however slowly the database stores its posts."""
    monkeypatch.setattr("rooms.services.budgets.BOT_BUDGET_WINDOW_SECONDS", 24 * 3600)
