"""Settings for roomchat.

Everything deployment-specific comes from the environment (see `.env.example`); with nothing set
the project runs locally on SQLite and the in-memory channel layer.
"""

import os
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
# A fixed local key only when debugging on this machine; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "insecure-local-development-key-set-SECRET_KEY-in-production" if DEBUG or "DATABASE_URL" not in os.environ else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set and DEBUG is off.")

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
    "rooms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default; DATABASE_URL (e.g. postgres://user@host/db) switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{os.environ.get('SQLITE_PATH', BASE_DIR / 'db.sqlite3')}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE avoids lock-upgrade deadlocks under load.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_PATH") or None}

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
            "CONFIG": {"hosts": [REDIS_URL], **_layer_config},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files in production; plain finders while debugging or testing.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG and bool(os.environ.get("DATABASE_URL")))
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (make run, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True

# Database sessions: the websocket consumer can save a rename into the session.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
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
PRESENCE_HEARTBEAT_SECONDS = env_int("PRESENCE_HEARTBEAT_SECONDS", 15)  # how often a process says it lives
PRESENCE_STALE_SECONDS = env_int("PRESENCE_STALE_SECONDS", 45)  # presence of a silent process expires
MESSAGE_RATE_PER_SECOND = float(os.environ.get("MESSAGE_RATE_PER_SECOND", 5))  # sustained messages/s per connection
MESSAGE_RATE_BURST = env_int("MESSAGE_RATE_BURST", 10)  # messages a connection may send at once
OUTBOUND_QUEUE_MAX = env_int("OUTBOUND_QUEUE_MAX", 1000)  # frames queued for one slow client before it is cut

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
