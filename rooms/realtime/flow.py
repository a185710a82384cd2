"""Flow control per connection: a token bucket for what a client sends, a bounded outbox for what it gets."""

import asyncio
import time


class TokenBucket:
    """Allows `rate` events a second on average and `burst` at once."""

    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def wait(self):
        """Seconds until the next event is allowed, rounded up to milliseconds."""
        return max(0.0, round((1 - self.tokens) / self.rate + 0.0005, 3)) if self.rate > 0 else None


def utf8_size(text):
    # isascii() is O(1) on CPython's compact strings: only non-ASCII frames are encoded to measure.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class Outbox:
    """A FIFO of encoded frames for one client, emptied whole by its writer, bounded both in frames
    and in UTF-8 bytes (a few large frames hold as much memory as many small ones). One frame is
    always taken when nothing else waits, however large, so no frame is undeliverable.

    The frames are in a list, not a deque: it is only appended to and taken whole, and an empty
    list is 56 bytes where an empty deque is 600 (an idle connection's outbox is empty)."""

    __slots__ = ("maxsize", "max_bytes", "frames", "size")

    def __init__(self, maxsize, max_bytes=None):
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.frames = []
        self.size = 0  # UTF-8 bytes queued

    def put_nowait(self, text):
        if len(self.frames) >= self.maxsize:
            raise asyncio.QueueFull
        size = utf8_size(text) if self.max_bytes is not None else 0
        if self.frames and self.max_bytes is not None and self.size + size > self.max_bytes:
            raise asyncio.QueueFull
        self.frames.append(text)
        self.size += size

    def empty(self):
        return not self.frames

    def take_nowait(self):
        """Every frame queued (maybe none), in order; the outbox is empty after."""
        frames, self.frames = self.frames, []
        self.size = 0
        return frames
