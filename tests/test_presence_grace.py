"""A member who comes straight back (a refresh, a deploy, a phone changing networks) was never gone:
no leave and no join notice while the grace period lasts; one who does not come back is announced."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from tests.support.ws import joined, receive_until

pytestmark = pytest.mark.django_db(transaction=True)

GRACE = 1.5


async def notices(communicator, seconds):
    """The system notices and member lists a connection gets within `seconds`."""
    seen = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        if await communicator.receive_nothing(timeout=min(left, 0.2)):
            continue
        frame = await communicator.receive_json_from()
        if frame["type"] == "system":
            seen.append((frame["event"], frame["name"]))
        elif frame["type"] == "presence":
            seen.append(("members", tuple(frame["members"])))
    return seen


async def ann_and_bob_in(room, session_for, open_socket, settings):
    """Ann and Bob in the room with a grace period; returns Bob's session and both sockets."""
    settings.PRESENCE_GRACE_SECONDS = GRACE
    ann, bob = [await database_sync_to_async(session_for)(name) for name in ("Ann", "Bob")]
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await receive_until(ann_socket, "presence", members=["Ann", "Bob"])
    return bob, ann_socket, bob_socket


async def test_a_refresh_within_the_grace_period_makes_no_leave_or_join_notice(
    room, session_for, open_socket, settings
):
    bob, ann_socket, bob_socket = await ann_and_bob_in(room, session_for, open_socket, settings)

    await bob_socket.disconnect()  # Bob reloads the page
    await asyncio.sleep(0.3)
    await joined(open_socket, room.code, bob)
    seen = await notices(ann_socket, GRACE + 1.5)
    assert not [notice for notice in seen if notice[0] in ("leave", "join")], seen
    assert all(notice == ("members", ("Ann", "Bob")) for notice in seen), seen


async def test_a_member_who_does_not_come_back_is_announced_once_the_grace_period_ends(
    room, session_for, open_socket, settings
):
    _, ann_socket, bob_socket = await ann_and_bob_in(room, session_for, open_socket, settings)

    await bob_socket.disconnect()
    assert not [notice for notice in await notices(ann_socket, GRACE - 0.5) if notice[0] == "leave"]
    seen = await notices(ann_socket, 2.5)
    assert ("leave", "Bob") in seen
    assert seen[-1] == ("members", ("Ann",))
