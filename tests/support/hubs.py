"""Room hubs as separate server processes have them, for delivery tests below the websocket: a hub
with its own channel-layer connection, and a stand-in connection that records what a hub hands it."""

import asyncio
import json

from django.conf import settings
from django.utils.module_loading import import_string

from rooms.realtime.hub import RoomHub


class RecordingConnection:
    """Stands in for a websocket connection: records the frames a hub hands it."""

    def __init__(self):
        self.frames = []
        self.arrived = asyncio.Event()

        self.closed_with = None

    def chat_message(self, event):
        self.frames.append(json.loads(event["text"]))
        self.arrived.set()

    chat_system = chat_presence = chat_message

    async def close(self, code=None):
        self.closed_with = code


async def process_hub(backend=None, **config):
    """A RoomHub with its own connection to the Redis layer (the configured one unless given), as a
    separate process has."""
    configured = settings.CHANNEL_LAYERS["default"]
    hub = RoomHub(layer=import_string(backend or configured["BACKEND"])(**(config or configured.get("CONFIG", {}))))
    await hub.start()
    return hub


async def wait_for_frames(connections, count, timeout=5):
    """Wait until every RecordingConnection has at least `count` frames, then a moment more for
    duplicates."""
    async with asyncio.timeout(timeout):
        while any(len(c.frames) < count for c in connections):
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
