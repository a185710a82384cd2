"""Reads shared by the callers that wait for them, never older than the call."""

import asyncio
import logging

logger = logging.getLogger(__name__)


class FreshReads:
    """One read at a time per key, shared by every caller that asked before it began. Each caller
    gets a result read after its call started (so after whatever it committed before asking), and
    callers that ask during a read share the one after it: a join storm of N members reads a room's
    member list a few times, not N times of up to N names."""

    def __init__(self, read):
        self.read = read  # async (key, *args) -> result
        self.next = {}  # key -> the future of the next read, which has not begun
        self.reading = set()  # keys with a reader task

    async def get(self, key, *args):
        future = self.next.get(key)
        if future is None:
            future = self.next[key] = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)
            if key not in self.reading:
                self.reading.add(key)
                asyncio.ensure_future(self._read_while_asked(key, args))
        return await asyncio.shield(future)

    async def _read_while_asked(self, key, args):
        try:
            while (future := self.next.pop(key, None)) is not None:
                try:
                    result = await self.read(key, *args)
                except Exception as error:
                    future.set_exception(error)
                else:
                    future.set_result(result)
        finally:
            self.reading.discard(key)


def _retrieve(future):
    """A failed read whose callers all went away is not an unhandled error."""
    if not future.cancelled():
        future.exception()
