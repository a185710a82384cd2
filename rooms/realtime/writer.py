"""The group-commit writer: the one path by which a new message is stored, then fanned out."""

import asyncio
from collections import defaultdict

from django.conf import settings

from rooms.protocol import message_event
from rooms.realtime import faults
from rooms.realtime.db_threads import main_db_keeping
from rooms.services.messages import store_messages

# The main database thread: the writer's batches commit in the order they are published.
store_in_db_thread = main_db_keeping(store_messages)


class MessageWriter:
    """Group commit for one process: messages posted while the database is busy with a batch are
    stored together in the next one (one thread hop, one transaction, one INSERT), so the single
    database thread keeps up with thousands of messages a second. Under load a batch starts at
    most every MESSAGE_BATCH_INTERVAL after the one before (PostgreSQL's `commit_delay`, in
    effect): a message a millisecond would otherwise make a batch, a thread hop and a commit each,
    which costs more than its fan-out; a message arriving after a quiet moment is written at once.
    Each message is published right
    after its batch commits, in id order, by the writer itself: a delivered message is always in
    history, and a sender that disconnects meanwhile cannot keep its stored message from the room."""

    BATCH_MAX = 500

    def __init__(self, hub):
        self.hub = hub
        self.queue = []
        self.task = None
        self.last_batch_at = float("-inf")  # loop time the last batch started

    async def post(self, code, entry):
        """Store a checked `NewMessage` and publish it once committed; returns (message, created, event)."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((code, entry, future))
        if self.task is None:
            self.task = asyncio.ensure_future(self._write())
        return await asyncio.shield(future)

    async def _write(self):
        loop = asyncio.get_running_loop()
        try:
            while self.queue:
                wait = self.last_batch_at + settings.MESSAGE_BATCH_INTERVAL - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.last_batch_at = loop.time()
                batch, self.queue = self.queue[: self.BATCH_MAX], self.queue[self.BATCH_MAX :]
                try:
                    stored = await store_in_db_thread([entry for _, entry, _ in batch])
                except Exception as error:  # the senders get the error (e.g. DatabaseError → "unavailable")
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                published = defaultdict(list)  # room code → its new messages' events, in id order
                done = []
                for (code, _, future), result in zip(batch, stored, strict=True):
                    if isinstance(result, Exception):
                        if not future.done():
                            future.set_exception(result)
                        continue
                    message, created = result
                    event = message_event(message)
                    if created:
                        published[code].append(event)
                    done.append((future, (message, created, event)))
                if any(faults.hits("hang-after-commit", event) for batch in published.values() for event in batch):
                    await asyncio.Event().wait()  # a test kills this process here, between commit and publish
                await self.hub.publish_batches(published)
                for future, value in done:
                    if not future.done():
                        future.set_result(value)
        finally:
            self.task = None
