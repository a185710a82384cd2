"""Gap-free fan-out: each process delivers every event of a room's log (services/log.py) to its
connections exactly once and in log order, whatever the channel layer or a dying process lost.

Per room with local connections the process knows the last position it delivered. An event that
arrives ahead of a hole is held; if the hole is not filled by its own event within GAP_WAIT
seconds (it is usually just in flight from another process), the missing range is read from the
database and delivered first. A periodic head check compares each room's `last_seq` with what was
delivered, so an event lost at the end of a burst (nothing after it to reveal the hole) is found
too. The database is the source of truth; the layer only makes delivery fast.
"""

import asyncio
import logging

from rooms.protocol import log_event
from rooms.realtime.db_threads import side_db
from rooms.services.log import events_between, last_positions

logger = logging.getLogger(__name__)

GAP_WAIT = 0.25  # seconds an event ahead of a hole waits for the missing one before reading it
HEAD_CHECK_SECONDS = 1.0  # how often the rooms' last positions are compared with what was delivered


class RoomCursor:
    """Where delivery of one room's log stands in this process."""

    def __init__(self):
        self.delivered = None  # last position delivered here; None until the start is read
        self.held = {}  # position → event that arrived ahead of a hole
        self.filling = None  # the task reading a hole from the database


class RoomSequencer:
    """Orders the logged events of the rooms a hub serves; `deliver(code, event)` hands events on."""

    def __init__(self, deliver):
        self.deliver = deliver
        self.cursors = {}

    async def open(self, code):
        """Start following a room (its first local connection): events up to its current last
        position are in the history that connection reads next; later ones are delivered here."""
        if code in self.cursors:
            return
        cursor = self.cursors[code] = RoomCursor()
        positions = await side_db(last_positions)([code])
        if self.cursors.get(code) is cursor and cursor.delivered is None:
            cursor.delivered = positions.get(code, 0)
            for seq in [seq for seq in cursor.held if seq <= cursor.delivered]:
                del cursor.held[seq]
            self.release(code, cursor)

    def stop(self):
        for code in list(self.cursors):
            self.close(code)

    def close(self, code):
        cursor = self.cursors.pop(code, None)
        if cursor is not None and cursor.filling is not None:
            cursor.filling.cancel()

    def accept(self, code, event):
        """A logged event (it has `seq`) for the room's connections, in any order, maybe twice."""
        cursor = self.cursors.get(code)
        if cursor is None:
            return
        seq = event["seq"]
        if cursor.delivered is not None and seq <= cursor.delivered:
            return  # delivered already (through the layer and a fill, say)
        cursor.held[seq] = event
        if cursor.delivered is not None:
            self.release(code, cursor)

    def release(self, code, cursor):
        """Deliver what is next in order; wait for (then read) what is missing before the rest."""
        self.advance(code, cursor)
        if cursor.held and cursor.filling is None:
            cursor.filling = asyncio.ensure_future(self.fill(code, cursor, max(cursor.held), GAP_WAIT))

    def advance(self, code, cursor):
        while cursor.delivered + 1 in cursor.held:
            cursor.delivered += 1
            self.deliver(code, cursor.held.pop(cursor.delivered))

    async def fill(self, code, cursor, upto, wait):
        """Deliver positions up to `upto` that are still missing after `wait` seconds, from the database."""
        try:
            await asyncio.sleep(wait)
            while self.cursors.get(code) is cursor and cursor.delivered < upto:
                events = await side_db(events_between)(code, cursor.delivered, upto)
                if self.cursors.get(code) is not cursor:
                    return
                for seq, kind, message in events:
                    if seq > cursor.delivered:
                        cursor.held.setdefault(seq, log_event(seq, kind, message))
                before = cursor.delivered
                self.advance(code, cursor)
                # Live deliveries may have gone past `upto` while the database was read.
                if cursor.delivered == before and before < upto:
                    # The next position is not stored (its room is being purged): skip the hole.
                    following = min((seq for seq in cursor.held if seq > before), default=upto + 1)
                    logger.warning("room %s: log positions %d-%d not found", code, before + 1, following - 1)
                    cursor.delivered = following - 1
                    self.advance(code, cursor)
        except Exception:  # tried again after a pause
            logger.warning("filling the log of room %s failed", code, exc_info=True)
            await asyncio.sleep(1)
        finally:
            if self.cursors.get(code) is cursor:
                cursor.filling = None
                self.release(code, cursor)

    async def check_heads(self):
        """Compare every followed room's last position with what was delivered; fill what lags."""
        codes = [code for code, cursor in self.cursors.items() if cursor.delivered is not None]
        if not codes:
            return
        heads = await side_db(last_positions)(codes)
        for code, head in heads.items():
            cursor = self.cursors.get(code)
            if cursor is not None and cursor.delivered is not None and head > cursor.delivered:
                if cursor.filling is None:
                    cursor.filling = asyncio.ensure_future(self.fill(code, cursor, head, GAP_WAIT))

    async def run(self):
        while True:
            await asyncio.sleep(HEAD_CHECK_SECONDS)
            try:
                await self.check_heads()
            except Exception:  # a database hiccup: the next check tries again
                logger.warning("checking the rooms' log heads failed", exc_info=True)
