"""A join storm costs a few member lists, not one per join: each page gets the full list when it
connects, then one list once the room is still (PRESENCE_PUBLISH_SECONDS), or one every
PRESENCE_PUBLISH_MAX_SECONDS while it is not, and the last one is right."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from rooms.realtime.hub import RoomHub
from rooms.services.presence import room_presence
from rooms.services.rooms import create_room
from tests.support.ws import joined, receive_until

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = 24


async def member_lists(communicator, quiet):
    """The member lists a connection gets until `quiet` seconds pass without a frame."""
    lists = []
    while not await communicator.receive_nothing(timeout=quiet):
        frame = await communicator.receive_json_from()
        if frame["type"] == "presence":
            lists.append(frame["members"])
    return lists


async def test_a_join_storm_sends_a_few_lists_and_the_last_is_complete(settings, session_for, open_socket):
    settings.PRESENCE_PUBLISH_SECONDS = 0.5
    settings.PRESENCE_PUBLISH_MAX_SECONDS = 5
    room = await database_sync_to_async(create_room)()
    names = [f"Member {n:02}" for n in range(MEMBERS)]
    sessions = [await database_sync_to_async(session_for)(name) for name in names]
    first, _ = await joined(open_socket, room.code, sessions[0])
    started = asyncio.get_running_loop().time()
    # Everyone else one after the other, as fast as they can; each gets a full list on connect
    # (`joined` waits for it).
    others = [await joined(open_socket, room.code, key) for key in sessions[1:]]
    elapsed = asyncio.get_running_loop().time() - started
    lists = await member_lists(first, quiet=1.5)
    assert lists, "the first member never got the list with the others"
    assert lists[-1] == sorted(names, key=str.casefold)
    # One list per join would be MEMBERS - 1 lists; while the joins come faster than one per
    # half-second, the room gets one when they stop (and one per 5 s of a longer storm).
    assert len(lists) <= 1 + elapsed / 5 + 1, (len(lists), elapsed)
    for communicator, _ in others:
        later = await member_lists(communicator, quiet=0.2)
        assert not later or later[-1] == sorted(names, key=str.casefold)


async def test_a_room_that_never_settles_still_gets_a_list_every_max_seconds(settings, session_for, open_socket):
    settings.PRESENCE_PUBLISH_SECONDS = 30  # joins never pause that long here
    settings.PRESENCE_PUBLISH_MAX_SECONDS = 0.2
    room = await database_sync_to_async(create_room)()
    names = [f"Member {n:02}" for n in range(8)]
    sessions = [await database_sync_to_async(session_for)(name) for name in names]
    first, _ = await joined(open_socket, room.code, sessions[0])
    for key in sessions[1:]:
        await joined(open_socket, room.code, key)
    lists = await member_lists(first, quiet=1.0)
    assert lists, "no list while the room kept changing"
    assert lists[-1] == sorted(names, key=str.casefold)


async def test_a_joiners_own_list_never_overtakes_a_newer_room_list(settings, session_for, open_socket, monkeypatch):
    """A joiner's own list is read on a side thread; under load that read can finish after the
    room's next list, which was read later and holds more people. The older one must not win."""
    settings.PRESENCE_PUBLISH_SECONDS = 0.2
    room = await database_sync_to_async(create_room)()
    names = ["Ann", "Bob", "Cy"]
    sessions = [await database_sync_to_async(session_for)(name) for name in names]
    first, _ = await joined(open_socket, room.code, sessions[0])
    await joined(open_socket, room.code, sessions[1])

    async def read_before_the_last_join_then_stall(code, room):
        # As if read just before Cy's presence committed, and handed back a second later.
        members, watchers = await database_sync_to_async(room_presence)(room)
        await asyncio.sleep(1.0)
        return [name for name in members if name != "Cy"] or members, watchers

    monkeypatch.setattr(RoomHub, "read_members", staticmethod(read_before_the_last_join_then_stall))
    last = await open_socket(room.code, sessions[2])
    lists = await member_lists(last, quiet=1.5)
    assert lists, "the joiner got no member list"
    assert lists[-1] == names


async def test_members_joining_together_share_their_own_list_reads(settings, session_for, open_socket, monkeypatch):
    """Each joiner's own list is read after it joined, but joiners at the same time share reads:
    a storm of N joins does not read a list of up to N names N times."""
    settings.PRESENCE_PUBLISH_SECONDS = 5  # no room list during the test: the own lists are all
    reads = []

    async def counted_read(code, room):
        reads.append(code)
        await asyncio.sleep(0.2)  # a read slow enough for the others to queue behind it
        return await database_sync_to_async(room_presence)(room)

    monkeypatch.setattr(RoomHub, "read_members", staticmethod(counted_read))
    room = await database_sync_to_async(create_room)()
    names = [f"Member {n:02}" for n in range(12)]
    sessions = [await database_sync_to_async(session_for)(name) for name in names]
    await joined(open_socket, room.code, sessions[0])
    others = await asyncio.gather(*(open_socket(room.code, key) for key in sessions[1:]))
    for communicator, name in zip(others, names[1:], strict=True):
        own, _ = await receive_until(communicator, "presence", timeout=5)
        assert name in own["members"]  # read after this member joined
    assert len(reads) < len(names) / 2, reads


async def test_a_big_room_shows_arrivals_and_departures_in_its_list_not_as_notices(settings, session_for, open_socket):
    """Above ANNOUNCE_MEMBERS_MAX connections a room gets no join and leave notices (a storm of N
    joins would be N notices to each of up to N members); its member list shows who came and went."""
    settings.ANNOUNCE_MEMBERS_MAX = 3
    room = await database_sync_to_async(create_room)()
    names = [f"Member {n}" for n in range(5)]
    sessions = [await database_sync_to_async(session_for)(name) for name in names]
    first, _ = await joined(open_socket, room.code, sessions[0])
    others = [(await joined(open_socket, room.code, key))[0] for key in sessions[1:]]

    async def notices_and_last_list(communicator):
        notices, last = [], None
        while not await communicator.receive_nothing(timeout=0.5):
            frame = await communicator.receive_json_from()
            if frame["type"] == "system" and frame["event"] in ("join", "leave"):
                notices.append((frame["event"], frame["name"]))
            elif frame["type"] == "presence":
                last = frame["members"]
        return notices, last

    notices, members = await notices_and_last_list(first)
    assert notices == [("join", "Member 1"), ("join", "Member 2")]  # the room had at most 3 then
    assert members == names
    await others[-1].disconnect()  # 5 connections: a big room, so no notice of this either
    notices, members = await notices_and_last_list(first)
    assert notices == []
    assert members == names[:-1]
