"""How often a session or an address may do something, whatever connection or process it comes
through: fixed-window counters in Django's cache (per process with the default LocMemCache, shared
through Redis on the production path).

The cache is a limiter, not a source of truth: when it fails (Redis down) every budget fails open
in this process for CACHE_RETRY_SECONDS, a warning is logged once per outage, and `/healthz`
reports the cache as degraded. Chat keeps working without its limits rather than not at all.
"""

import asyncio
import hashlib
import logging
import math
import time
import weakref

import redis.asyncio
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import BOT_BUDGET_WINDOW_SECONDS, BOT_POSTS_PER_WINDOW
from rooms.services.budget_windows import LocalWindows, shared_windows

logger = logging.getLogger(__name__)

CACHE_RETRY_SECONDS = 30  # after a cache failure, how long this process skips it before trying again


class CacheHealth:
    """This process's view of the limiter's cache: failing open since when, and why."""

    def __init__(self):
        self.failed_at = None
        self.reason = ""

    def usable(self):
        return self.failed_at is None or time.monotonic() - self.failed_at >= CACHE_RETRY_SECONDS

    def failed(self, error):
        if self.failed_at is None:
            logger.warning("the limiter's cache failed (%s); rate limits are off in this process", error)
        self.failed_at = time.monotonic()
        self.reason = type(error).__name__

    def recovered(self):
        if self.failed_at is not None:
            logger.warning("the limiter's cache answers again; rate limits are back on")
        self.failed_at = None
        self.reason = ""

    def status(self):
        """'ok', or 'degraded: …' while the limiter fails open."""
        return "ok" if self.failed_at is None else f"degraded: {self.reason} (limits off)"


cache_health = CacheHealth()

_limiter_cache = None


def limiter_cache():
    """The default cache as one backend for the whole process. `django.core.cache.cache` is one per
    thread and per asyncio context: asked from a worker thread (as the event loop asks a remote
    cache) it is a new backend each time, with a new Redis connection per message."""
    global _limiter_cache
    if _limiter_cache is None:
        _limiter_cache = caches.create_connection(DEFAULT_CACHE_ALIAS)
    return _limiter_cache


# The event loop's own Redis client for the limiter, one per loop (tests run several loops).
_loop_clients = weakref.WeakKeyDictionary()


def loop_redis():
    """A redis.asyncio client on the limiter cache's Redis, for the running event loop."""
    loop = asyncio.get_running_loop()
    client = _loop_clients.get(loop)
    if client is None:
        config = settings.CACHES[DEFAULT_CACHE_ALIAS]
        location = config["LOCATION"]
        location = location[0] if isinstance(location, list | tuple) else location.split(",")[0].split(";")[0]
        options = {key: value for key, value in config.get("OPTIONS", {}).items() if key.startswith("socket_")}
        client = redis.asyncio.Redis.from_url(location, **options)
        _loop_clients[loop] = client
    return client


local_windows = LocalWindows()


@receiver(setting_changed)
def forget_limiter_cache(setting, **kwargs):
    global _limiter_cache, local_windows
    if setting == "CACHES":
        _limiter_cache = None
        _loop_clients.clear()
        local_windows = LocalWindows()


def guarded(operation, fallback=None):
    """Run a cache operation; on failure, fail open (return `fallback`) and remember the outage."""
    if not cache_health.usable():
        return fallback
    try:
        result = operation()
    except Exception as error:  # ConnectionError, TimeoutError, redis errors: whatever the backend raises
        cache_health.failed(error)
        return fallback
    cache_health.recovered()
    return result


def count(key, window):
    """Add one to the counter `key` (which lives `window` seconds) and return its value."""
    cache = limiter_cache()
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this one opens a new window
        cache.set(key, 1, window)
        return 1


def budget_key(kind, who, window, now):
    """The counter of `who`'s window that `now` falls in, and when that window started."""
    start = math.floor(now / window) * window
    # Hashed: a session key is a credential, and has no business in Redis's key space.
    return f"rooms:budget:{kind}:{hashlib.sha256(who.encode()).hexdigest()[:32]}:{start}", start


def check_within(used, limit, start, window, now, detail):
    if used > limit:
        wait = max(1, math.ceil(start + window - now))
        # Formatted lazily: the text is translated when the error is shown, in its reader's language.
        detail = format_lazy(detail, wait=wait, minutes=math.ceil(wait / 60))
        raise ChatError("rate_limited", detail, retry_after=wait)


def take(kind, who, limit, window, detail):
    """Spend one of `who`'s `limit` actions of `kind` per `window` seconds, or raise
    ChatError("rate_limited") with `retry_after`: the seconds until the window ends."""
    now = time.time()
    key, start = budget_key(kind, who, window, now)
    used = guarded(lambda: count(key, window + 1), fallback=0)
    check_within(used, limit, start, window, now, detail)


def cache_is_local():
    """Whether the cache lives in this process (no network round trip: callable from the event loop)."""
    return isinstance(limiter_cache(), LocMemCache)


async def atake(kind, who, limit, window, detail):
    """`take` from the event loop, without waiting: counted in this process when the cache is
    local, and in Redis in batches (budget_windows.SharedWindows); another remote cache is asked
    from a worker thread."""
    if cache_is_local():
        now = time.time()
        start = math.floor(now / window) * window
        used = local_windows.count((kind, who), start, window)
        return check_within(used, limit, start, window, now, detail)
    if not isinstance(limiter_cache(), RedisCache):
        return await asyncio.to_thread(take, kind, who, limit, window, detail)
    now = time.time()
    key, start = budget_key(kind, who, window, now)
    used = 0
    if cache_health.usable():
        counters = shared_windows(loop_redis(), cache_health.failed, cache_health.recovered)
        # The key names its window, so renewing its life (window + 1 s) on each flush is harmless.
        used = counters.count(limiter_cache().make_key(key), start + window, window + 1)
    check_within(used, limit, start, window, now, detail)


def probe_cache():
    """Write and read back a key: the health check's own view of the cache (it fails open too)."""
    key = "rooms:health"
    cache = limiter_cache()
    cache.set(key, "ok", 10)
    if cache.get(key) != "ok":
        raise RuntimeError("the cache did not keep a value")


def take_bot_post(token_hash):
    """Spend one of a bot token's posts (BOT_POSTS_PER_WINDOW per BOT_BUDGET_WINDOW_SECONDS, across
    every server process): one token's flood never slows another token or the room's members."""
    take(
        "bot",
        token_hash,
        BOT_POSTS_PER_WINDOW,
        BOT_BUDGET_WINDOW_SECONDS,
        _("This token is posting too fast; wait {wait} s."),
    )
