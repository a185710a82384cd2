"""The hub's link to the shared channel layer (Redis): one layer channel per process, one layer
group per room this process serves, a reader that hands other processes' events to the hub, and
a self-check that notices a layer which lost events silently."""

import asyncio
import logging
import uuid

from django.conf import settings

from rooms.protocol import presence_event
from rooms.realtime import faults
from rooms.realtime.db_threads import main_db
from rooms.services.presence import room_presence
from rooms.services.rooms import find_room

logger = logging.getLogger(__name__)


def group_name(code):
    return f"room.{code}"


class LayerLink:
    """One process's membership of the rooms' layer groups, and what it hears there."""

    def __init__(self, hub, layer):
        self.hub = hub
        self.layer = layer
        self.channel = None
        self.lost = False  # the layer failed; events may have been missed until recovery
        self.recovering = asyncio.Lock()
        self.echo = None  # the future the next self-check waits on
        self.presence_reading = set()  # rooms whose member list is being re-read
        self.presence_outdated = set()  # rooms whose list changed again during that read

    async def start(self):
        """Open this process's channel; returns the tasks to run (reader and watcher)."""
        self.channel = await self.layer.new_channel()
        return [asyncio.ensure_future(self.read()), asyncio.ensure_future(self.watch())]

    async def join(self, code):
        await self.layer.group_add(group_name(code), self.channel)

    async def leave(self, code):
        await self.layer.group_discard(group_name(code), self.channel)

    async def send(self, code, event):
        await self.layer.group_send(group_name(code), {**event, "room": code, "origin": self.hub.server_id})

    async def read(self):
        while True:
            if self.lost and not await self.recover():
                await asyncio.sleep(1)
                continue
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: recover once it is back, or rooms go deaf
                logger.warning("channel layer receive failed; recovering", exc_info=True)
                self.lost = True
                await asyncio.sleep(1)
                continue
            self.dispatch(event)

    def dispatch(self, event):
        if event["type"] == "hub.echo":
            if self.echo is not None and not self.echo.done():
                self.echo.set_result(event["token"])
        elif event.get("origin") == self.hub.server_id:
            return
        elif event["type"] == "chat.presence":
            asyncio.ensure_future(self.send_current_members(event["room"]))
        elif event["type"] == "hub.batch":
            for each in event["events"]:
                if not faults.hits("drop-layer", each):
                    self.hub.deliver(event["room"], each)
        elif not faults.hits("drop-layer", event):
            self.hub.deliver(event["room"], event)

    async def send_current_members(self, code):
        """Member lists are published by each process independently, so one from another process
        can arrive after a newer one from here. Instead of passing it on, re-read the list once it
        has arrived (its change is committed by then): the last list every client gets is current."""
        if code in self.presence_reading:
            self.presence_outdated.add(code)  # re-read once the read in flight is done
            return
        self.presence_reading.add(code)
        try:
            while code in self.hub.connections:
                self.presence_outdated.discard(code)
                room = await main_db(find_room)(code)
                if room is None:
                    return
                presence = await main_db(room_presence)(room)
                self.hub.deliver(code, presence_event(*presence))
                if code not in self.presence_outdated:
                    return
        except Exception:  # the next membership change sends a fresh list anyway
            logger.warning("re-reading the member list of %s failed", code, exc_info=True)
        finally:
            self.presence_reading.discard(code)

    async def watch(self):
        """Every heartbeat: check the layer answers, and renew this process's group memberships."""
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)
            await self.check()
            try:
                await self.refresh_groups()
            except Exception:  # Redis down: recovery follows once the layer answers again
                logger.warning("refreshing channel layer groups failed", exc_info=True)

    async def check(self):
        """Send an event to this process through the layer and wait for it: some layers (pub/sub)
        reconnect by themselves without reporting the events lost meanwhile; this notices."""
        token = uuid.uuid4().hex
        self.echo = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self.layer.send(self.channel, {"type": "hub.echo", "token": token}), 5)
            # Generous: a busy process must not take slowness for an outage and drop its clients.
            heard = await asyncio.wait_for(self.echo, 15)
        except Exception:
            heard = None
        if heard != token:
            if not self.lost:
                logger.warning("channel layer did not echo; recovering when it does")
            self.lost = True
        elif self.lost:
            await self.recover()

    async def refresh_groups(self):
        """(Re)join the layer group of every room served here: a restarted Redis has forgotten the
        groups, and channels-redis expires a group membership after a day. Idempotent."""
        for code in list(self.hub.connections):
            await self.join(code)
            if code not in self.hub.connections:  # emptied meanwhile: its leave() already discarded
                await self.leave(code)

    async def recover(self):
        """After the layer failed, rejoin the groups, then catch up on what other processes
        published meanwhile: the rooms' logs from the database, their member lists afresh.
        Returns False while the layer is still down."""
        async with self.recovering:
            if not self.lost:
                return True  # recovered by the other caller
            try:
                await self.refresh_groups()
            except Exception:
                return False
            self.lost = False
        try:
            await self.hub.sequencer.check_heads()
        except Exception:  # the sequencer's own periodic check tries again
            logger.warning("catching up after the layer recovered failed", exc_info=True)
        for code in list(self.hub.connections):
            asyncio.ensure_future(self.send_current_members(code))
        return True
