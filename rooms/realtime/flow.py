"""Flow control per connection: a token bucket for what a client sends, a bounded outbox for what it gets."""

import asyncio
import collections
import time


class TokenBucket:
    """Allows `rate` events a second on average and `burst` at once."""

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


class Outbox:
    """A bounded FIFO of encoded frames for one client, emptied whole by its writer."""

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.frames = collections.deque()
        self.waiter = None

    def put_nowait(self, text):
        if len(self.frames) >= self.maxsize:
            raise asyncio.QueueFull
        self.frames.append(text)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self):
        return not self.frames

    async def take_all(self):
        while not self.frames:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        frames, self.frames = self.frames, collections.deque()
        return frames
