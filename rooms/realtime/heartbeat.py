"""A process's heartbeat: keeps its presence alive, announces the departures of processes that
died, and closes the connections of rooms that were deleted or reached their expiry time."""

import asyncio
import logging

from django.conf import settings

from rooms.protocol import ROOM_EXPIRED, ROOM_REMOVED, join_event, leave_event, presence_event
from rooms.realtime.db_threads import main_db, side_db
from rooms.services.operators import purge_expired_rooms
from rooms.services.presence import beat_heart, expire_stale_servers, room_presence, settle_departures
from rooms.services.rooms import expired_room_codes, find_room, missing_room_codes

logger = logging.getLogger(__name__)


class Heartbeat:
    """Runs every PRESENCE_HEARTBEAT_SECONDS for one process's hub."""

    def __init__(self, hub):
        self.hub = hub

    async def run(self):
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except Exception:  # a database hiccup must not stop the heartbeat for good
                logger.exception("presence heartbeat failed")

    async def beat(self):
        hub = self.hub
        forgotten = await main_db(beat_heart)(hub.server_id)
        if forgotten:
            await self.register_again()
        departed = await main_db(expire_stale_servers)()
        for code, names in departed.items():
            await self.publish_departures(code, names)
        # Closed connections whose grace ended while their process could not settle them.
        for code, names in (await side_db(settle_departures)()).items():
            await self.publish_departures(code, names)
        # Catches rooms deleted by a process the channel layer cannot reach (in-memory layer).
        for code in await main_db(missing_room_codes)(list(hub.connections)):
            hub.deliver(code, ROOM_REMOVED)
        await self.close_expired_rooms()

    async def connection_closed(self, room):
        """A connection of `room` closed: the counts change now; who left is told once the grace
        period is over (a member who comes back within it was never gone)."""
        grace = settings.PRESENCE_GRACE_SECONDS
        if grace > 0:
            self.hub.publish_members(room.code, room)  # the watcher count, say
            asyncio.get_running_loop().call_later(grace + 0.05, lambda: asyncio.ensure_future(self.settle(room)))
        elif not await self.settle(room):
            self.hub.publish_members(room.code, room)

    async def settle(self, room):
        """Announce who left `room` for good; returns whether anyone did."""
        try:
            departed = await side_db(settle_departures)(room)
        except Exception:  # the next heartbeat settles it
            logger.warning("settling departures from room %s failed", room.code, exc_info=True)
            return False
        for code, names in departed.items():
            await self.publish_departures(code, names)
        return bool(departed)

    async def register_again(self):
        """This process was silent long enough for the others to expire it (a long pause, a lost
        database): record its open connections again and announce them, so they are not ghosts."""
        hub = self.hub
        for code, local in list(hub.connections.items()):
            arrived = set()
            for connection in tuple(local):
                first = await main_db(connection.register)()  # a member's presence, or a watcher
                if first:
                    arrived.add(connection.name)
            for name in sorted(arrived):
                await hub.publish(code, join_event(name))
            room = next(iter(local)).room if local else None
            if room is not None:
                presence = await main_db(room_presence)(room)
                await hub.publish(code, presence_event(*presence))

    async def publish_departures(self, code, names):
        room = await main_db(find_room)(code)
        if room is None:
            return
        if self.hub.announces_arrivals(code):
            for name in sorted(names):
                await self.hub.publish(code, leave_event(name))
        # Paced like any change of the list: a room emptying at once gets a few lists, not one per leave.
        self.hub.publish_members(code, room)

    async def close_expired_rooms(self):
        """Owner-set expiry: tell every process's connections of an expired room that it expired,
        then delete it (deleting twice from two processes is harmless)."""
        codes = await main_db(expired_room_codes)(list(self.hub.connections))
        for code in codes:
            await self.hub.publish(code, ROOM_EXPIRED)
        await main_db(purge_expired_rooms)()
