"""Where the event loop's budget counters live: fixed windows counted in this process when the
limiter's cache is local anyway, or in Redis, shared by every process, in one script call per
flush for all of this process's counters rather than one round trip per message."""

import asyncio
import time
import weakref

# Adds each counter's increment and renews its life; returns the new totals, in KEYS order.
COUNT_SCRIPT = """
local totals = {}
for index, key in ipairs(KEYS) do
  totals[index] = redis.call('INCRBY', key, ARGV[2 * index - 1])
  redis.call('EXPIRE', key, ARGV[2 * index])
end
return totals
"""


class LocalWindows:
    """Fixed-window counters of this process, for the event loop's budgets while the limiter's
    cache is in this process anyway (LocMemCache): the same counts, without the cache's lock,
    pickling, key checks and hashing on every message."""

    PRUNE_SECONDS = 60

    def __init__(self):
        self.windows = {}  # (kind, who) -> [start of its current window, actions in it, its end]
        self.pruned_at = time.monotonic()

    def count(self, key, start, window):
        counter = self.windows.get(key)
        if counter is None or counter[0] != start:
            counter = self.windows[key] = [start, 0, start + window]
            if time.monotonic() - self.pruned_at >= self.PRUNE_SECONDS:
                self.prune(start)
        counter[1] += 1
        return counter[1]

    def prune(self, now):
        """Forget the windows that have ended."""
        self.windows = {key: counter for key, counter in self.windows.items() if counter[2] > now}
        self.pruned_at = time.monotonic()


class SharedWindows:
    """Counters in Redis, shared by every process, for one event loop. An action is counted here at
    once and sent to Redis with the others of the next FLUSH_SECONDS in one script call, which
    returns every counter's total: a counter's count is its last total from Redis plus what this
    process added since. Another process's actions are therefore seen up to a flush late, which
    lets a session spread over several processes exceed its budget by at most a flush's worth;
    one round trip per message cost a busy process more than storing the message did.

    `on_failure(error)` / `on_success()` report the cache's health (a failed flush's counts stay
    in this process only: the limiter fails open, it never refuses for lack of Redis)."""

    FLUSH_SECONDS = 0.05

    def __init__(self, client, on_failure, on_success):
        self.client, self.on_failure, self.on_success = client, on_failure, on_success
        self.script = client.register_script(COUNT_SCRIPT)
        self.totals = {}  # key -> [its total in Redis at the last flush, when its window ends]
        self.unsent = {}  # key -> [actions counted here since, the counter's life in seconds]
        self.flusher = None

    def count(self, key, window_end, life):
        """Count one action on `key` (a window's counter, living `life` seconds in Redis); returns
        the window's count as far as this process knows."""
        pending = self.unsent.get(key)
        if pending is None:
            pending = self.unsent[key] = [0, life]
        pending[0] += 1
        total = self.totals.get(key)
        if total is None:
            total = self.totals[key] = [0, window_end]
        if self.flusher is None:
            self.flusher = asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.start_flush)
        return total[0] + pending[0]

    def start_flush(self):
        if self.flusher is not None:
            self.flusher.cancel()
        self.flusher = None
        unsent, self.unsent = self.unsent, {}
        if not unsent:
            return
        for key, (added, _life) in unsent.items():
            self.totals[key][0] += added  # counted as sent until Redis answers with the true total
        task = asyncio.ensure_future(self.flush(unsent))
        _flushes.add(task)
        task.add_done_callback(_flushes.discard)

    async def flush(self, unsent):
        keys = list(unsent)
        args = [value for key in keys for value in unsent[key]]
        try:
            totals = await self.script(keys=keys, args=args)
        except Exception as error:  # ConnectionError, TimeoutError, redis errors: fail open
            self.on_failure(error)
            return
        self.on_success()
        now = time.time()
        for key, total in zip(keys, totals, strict=True):
            known = self.totals.get(key)
            if known is not None:
                # Totals only grow within a window: an earlier flush answering after a later one
                # began must not undo that one's counts. What came since is in `unsent`.
                known[0] = max(known[0], int(total))
        self.totals = {key: known for key, known in self.totals.items() if known[1] > now or key in self.unsent}


_flushes = set()  # flushes in progress (a task nobody holds may be collected mid-way)
_shared = weakref.WeakKeyDictionary()  # event loop -> its SharedWindows


def shared_windows(client, on_failure, on_success):
    """The running event loop's SharedWindows (each loop has its own Redis client)."""
    loop = asyncio.get_running_loop()
    windows = _shared.get(loop)
    if windows is None or windows.client is not client:
        windows = _shared[loop] = SharedWindows(client, on_failure, on_success)
    return windows
