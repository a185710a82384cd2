"""Settings for roomchat.

Everything deployment-specific comes from the environment (see `.env.example`); with nothing set
the project runs locally on SQLite and the in-memory channel layer.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


DEBUG = env_bool("DEBUG", False)
DEBUG_SECRET_KEY = "insecure-local-development-key-set-SECRET_KEY-in-production"
# Keys anyone can read (this file, .env.example): sessions signed with them can be forged.
PUBLISHED_SECRET_KEYS = {DEBUG_SECRET_KEY, "change-me-to-a-long-random-string"}
SQLITE_PATH = Path(os.environ.get("SQLITE_PATH") or BASE_DIR / "db.sqlite3")


def local_secret_key(path):
    """A random key made once and kept in a file beside the SQLite database (`make run` with
    nothing set), so a local server never runs on a published key."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if SECRET_KEY in PUBLISHED_SECRET_KEYS and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY is a published example; set a long random one (or DEBUG=1 locally).")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = DEBUG_SECRET_KEY
    elif "DATABASE_URL" in os.environ:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set and DEBUG is off.")
    else:
        SECRET_KEY = local_secret_key(SQLITE_PATH.with_name(SQLITE_PATH.name + ".secret-key"))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "axes",
    "rooms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "rooms.language.SessionLanguageMiddleware",  # the language picked on the page beats Accept-Language
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out admin login with 429
]

# The pages load only their own scripts, styles and sockets (django-csp): no inline script or style
# anywhere, so an injected tag does nothing. 'self' covers the same-origin ws:// and wss:// too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],  # blob: the page's previews of images being uploaded
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Admin logins are throttled by django-axes: ADMIN_LOGIN_FAILURE_LIMIT wrong passwords from one
# address lock that address out of the login for ADMIN_LOGIN_LOCKOUT_MINUTES (HTTP 429).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)  # wrong passwords per address before the lock-out
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_LOCKOUT_MINUTES", 15))  # how long it lasts
AXES_LOCKOUT_PARAMETERS = ["ip_address"]  # per address: a username lock would let anyone lock the admin out
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "rooms.views.login_ip"  # the address the chat limits use (TRUSTED_PROXY_COUNT)

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default; DATABASE_URL (e.g. postgres://user@host/db) switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
# Threads running the requests' synchronous code (chatsite/request_threads.py); each keeps its
# database connection. SQLite's queries never wait on a network: past two threads, more only
# contend for the interpreter (at four, a join storm took a tenth longer and its slowest joins
# three times as long: bench/README.md).
SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
REQUEST_THREADS = env_int("REQUEST_THREADS", 2 if SQLITE else 4)
# Under load, the message writer starts a batch (a transaction) at most this often: a few
# milliseconds more latency for the messages of a busy server, a third less CPU per message
# (bench/README.md). 0 writes every batch as soon as the one before has committed.
MESSAGE_BATCH_INTERVAL = env_int("MESSAGE_BATCH_INTERVAL_MS", 5) / 1000
if SQLITE:
    # Connections live as long as their thread: request threads and the database threads are few
    # and fixed, and opening a SQLite connection costs more than most queries.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", None)
    # WAL lets readers run beside the writer; IMMEDIATE avoids lock-upgrade deadlocks under load.
    # temp_store=MEMORY: a multi-row INSERT … RETURNING (the message writer's batch) otherwise
    # opens, writes and deletes a temporary file on each run.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA temp_store=MEMORY;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_PATH") or None}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    # Under ASGI each database_sync_to_async call ends by closing its connection; a psycopg pool makes
    # that a return to the pool instead of a new PostgreSQL login per query. (Pooling replaces
    # persistent connections: CONN_MAX_AGE must then be 0.)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 2),  # connections each process keeps open
        # Most connections one process opens: its main database thread (the message writer), the 4
        # side threads of rooms/realtime/db_threads.py and the HTTP requests in flight share them.
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        "timeout": 10,  # seconds to wait for a free connection before failing the request
    }

# In-memory layer by default (one process); REDIS_URL shares rooms between processes.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Which channels-redis layer carries the one-message-per-process-per-room fan-out (bench/README.md
# has the measurements): "pubsub" (Redis PUBLISH/SUBSCRIBE) or "core" (Redis lists).
REDIS_CHANNEL_LAYER = os.environ.get("REDIS_CHANNEL_LAYER", "pubsub")
REDIS_CHANNEL_LAYER_BACKENDS = {
    "pubsub": ("channels_redis.pubsub.RedisPubSubChannelLayer", {}),
    # Capacity per channel is 100 by default and a full channel drops group messages silently;
    # the hub's channel takes a whole process's share of every busy room, so it gets room to spare.
    "core": ("channels_redis.core.RedisChannelLayer", {"capacity": 10000, "expiry": 60}),
}
if REDIS_CHANNEL_LAYER not in REDIS_CHANNEL_LAYER_BACKENDS:
    raise ImproperlyConfigured(f"REDIS_CHANNEL_LAYER must be one of {', '.join(REDIS_CHANNEL_LAYER_BACKENDS)}.")
if REDIS_URL:
    _layer_backend, _layer_config = REDIS_CHANNEL_LAYER_BACKENDS[REDIS_CHANNEL_LAYER]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _layer_backend,
            # A key prefix per deployment (or per test run) keeps parallel users of one Redis apart.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("REDIS_PREFIX", "roomchat"), **_layer_config},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds the per-IP join-attempt counters: shared through Redis when several processes run,
# so the limit is per deployment, not per process.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("REDIS_PREFIX", "roomchat"),
            # Short timeouts: a dead Redis must fail the limiter open fast (rooms/services/budgets.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered template fragments that are the same for everyone (in a language): kept in each process.
CACHES["fragments"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")  # where collectstatic writes
# Hashed, compressed files from STATIC_ROOT (after `manage.py collectstatic`) on the production path
# (DATABASE_URL set, DEBUG off); before collectstatic the plain names are used. Off by default
# locally, so a server started from a checkout never serves a stale collected copy of an edited file.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG and "DATABASE_URL" in os.environ)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "chatsite.static_storage.ManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# WhiteNoise serves STATIC_ROOT and, for files not collected (yet), the app's static directories.
WHITENOISE_USE_FINDERS = True

# Database sessions: the websocket consumer can save a rename into the session.
SESSION_ENGINE = "chatsite.session_store"  # database sessions (see there)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Chat limits (each overridable from the environment) ---
ROOM_CODE_LENGTH = env_int("ROOM_CODE_LENGTH", 6)  # characters in a new room code
NAME_MAX_CHARS = env_int("NAME_MAX_CHARS", 32)  # longest display name
MESSAGE_MAX_CHARS = env_int("MESSAGE_MAX_CHARS", 2000)  # longest message body after trimming
HISTORY_LIMIT = env_int("HISTORY_LIMIT", 50)  # messages sent on connect and per history page
TITLE_MAX_CHARS = 60  # longest room title
WS_FRAME_MAX_BYTES = env_int("WS_FRAME_MAX_BYTES", 16 * 1024)  # larger client frames are rejected
PRESENCE_HEARTBEAT_SECONDS = env_int("PRESENCE_HEARTBEAT_SECONDS", 10)  # how often a process says it lives
PRESENCE_STALE_SECONDS = env_int("PRESENCE_STALE_SECONDS", 30)  # presence of a silent process expires
# A member whose last connection closed is still listed this long, and is not announced as gone if
# he comes back meanwhile (a refresh, a deploy, a phone changing networks).
PRESENCE_GRACE_SECONDS = float(os.environ.get("PRESENCE_GRACE_SECONDS", 5))
# A room's full member list goes out once its membership has been still this long, and at least
# every PRESENCE_PUBLISH_MAX_SECONDS while it keeps changing (join/leave notices carry each change).
PRESENCE_PUBLISH_SECONDS = float(os.environ.get("PRESENCE_PUBLISH_SECONDS", 0.5))
PRESENCE_PUBLISH_MAX_SECONDS = float(os.environ.get("PRESENCE_PUBLISH_MAX_SECONDS", 5))
# Join and leave notices go out in rooms of up to this many connections (in the process that
# announces them); a bigger room's member list alone shows who came and went, as large channels
# elsewhere do: a storm of N joins would otherwise be N notices to each of up to N members.
ANNOUNCE_MEMBERS_MAX = env_int("ANNOUNCE_MEMBERS_MAX", 100)
MESSAGE_RATE_PER_SECOND = float(os.environ.get("MESSAGE_RATE_PER_SECOND", 5))  # sustained messages/s per connection
MESSAGE_RATE_BURST = env_int("MESSAGE_RATE_BURST", 10)  # messages a connection may send at once
OWNER_RATE_PER_SECOND = float(os.environ.get("OWNER_RATE_PER_SECOND", 1))  # sustained owner frames/s per connection
OWNER_RATE_BURST = env_int("OWNER_RATE_BURST", 10)  # owner frames (kick, lock, passphrase, …) sent at once
# At most one typing frame is relayed per connection per this many seconds.
TYPING_THROTTLE_SECONDS = float(os.environ.get("TYPING_THROTTLE_SECONDS", 2))
OUTBOUND_QUEUE_MAX = env_int("OUTBOUND_QUEUE_MAX", 1000)  # frames queued for one slow client before it is cut
OUTBOUND_QUEUE_MAX_BYTES = env_int("OUTBOUND_QUEUE_MAX_BYTES", 4 * 1024 * 1024)  # UTF-8 bytes queued, likewise
JOIN_MISS_LIMIT = env_int("JOIN_MISS_LIMIT", 10)  # unknown room codes one IP may try per window
JOIN_MISS_WINDOW_SECONDS = env_int("JOIN_MISS_WINDOW_SECONDS", 60)  # that window (counted in CACHES)
# Budgets per session and per IP, across connections (and processes, with Redis as the cache).
NEW_JOINS_PER_IP_PER_MINUTE = env_int("NEW_JOINS_PER_IP_PER_MINUTE", 60)  # sessions newly admitted to a room
ROOM_CREATE_PER_IP_PER_HOUR = env_int("ROOM_CREATE_PER_IP_PER_HOUR", 60)  # rooms one IP may create
WS_CONNECTS_PER_SESSION_PER_MINUTE = env_int("WS_CONNECTS_PER_SESSION_PER_MINUTE", 120)  # socket opens
WS_CONNECTS_PER_IP_PER_MINUTE = env_int("WS_CONNECTS_PER_IP_PER_MINUTE", 1200)  # socket opens, all sessions
WS_MAX_CONNECTIONS_PER_IP = env_int("WS_MAX_CONNECTIONS_PER_IP", 200)  # open sockets per IP, per process
# A request's line and headers must arrive within this many seconds (uvicorn; slow clients are cut).
HTTP_HEADER_TIMEOUT_SECONDS = float(os.environ.get("HTTP_HEADER_TIMEOUT_SECONDS", 10))
TRANSCRIPT_EXPORTS_PER_SESSION = env_int("TRANSCRIPT_EXPORTS_PER_SESSION", 2)  # downloads at once (429 beyond)
KICK_IP_BAN_MINUTES = env_int("KICK_IP_BAN_MINUTES", 10)  # a kicked session's IP may not newly join for this long
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)  # proxies in front whose X-Forwarded-For is believed
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")  # uploaded images (the default storage)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)  # largest image file accepted
UPLOAD_RATE_PER_MINUTE = env_int("UPLOAD_RATE_PER_MINUTE", 20)  # image uploads one session may make a minute
# Tests only: drop or stall chosen deliveries (rooms/realtime/faults.py); never set in production.
DELIVERY_FAULTS = os.environ.get("DELIVERY_FAULTS", "")

# --- Operators (admin and manage.py commands) ---
# purge_rooms deletes log entries of edits and reactions a later change superseded, after this many days.
MESSAGE_CHANGE_KEEP_DAYS = env_int("MESSAGE_CHANGE_KEEP_DAYS", 7)
ROOM_IDLE_DAYS = env_int("ROOM_IDLE_DAYS", 30)  # purge_rooms deletes rooms idle longer than this by default
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")  # base of the invite links create_room prints

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
