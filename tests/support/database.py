"""Rows written straight to the database for a test to start from, and what is stored, read back.

`make_room` and `be_online` run in sync code (wrap them in database_sync_to_async from async
tests); `stored_bodies` and `stored_ids` are awaitable.
"""

from datetime import timedelta

from channels.db import database_sync_to_async
from django.utils import timezone

from rooms.models import Message, Room
from rooms.services.presence import add_presence, beat_heart
from rooms.services.rooms import create_room


def make_room(title="", code=None, messages=0, days_old=0, name="Ann"):
    """A room with `messages` messages by `name`; they (and the room's creation) are `days_old` days
    in the past."""
    room = create_room(title, code=code)
    moment = timezone.now() - timedelta(days=days_old)
    Room.objects.filter(pk=room.pk).update(created_at=moment - timedelta(minutes=1))
    Message.objects.bulk_create(
        Message(room=room, name=name, body=f"message {number}", created_at=moment) for number in range(messages)
    )
    room.refresh_from_db()
    return room


def be_online(room, name="Bob"):
    """`name` is in `room` on a live server process (its session key is the name)."""
    beat_heart("test-server")
    add_presence(room, "test-server", f"conn-{room.code}-{name}", name, session_key=name)


async def stored_bodies(code):
    """The bodies of the messages stored in room `code`, oldest first."""
    return await database_sync_to_async(
        lambda: list(Message.objects.filter(room__code=code).order_by("id").values_list("body", flat=True))
    )()


async def stored_ids(code):
    """The ids of the messages stored in room `code`, in order."""
    return await database_sync_to_async(
        lambda: list(Message.objects.filter(room__code=code).order_by("id").values_list("id", flat=True))
    )()
