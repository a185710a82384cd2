"""A kick bars the kicked member's address from joining again with a fresh session for a while;
members already admitted from that address stay, and the owner sees the bans and can lift them."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from rooms.models import RoomBan
from rooms.realtime.hub import stop_hubs
from rooms.services.sessions import JOINED_ROOMS_SESSION_KEY
from tests.support.ws import receive_until, refusal, room_socket, settled

pytestmark = pytest.mark.django_db(transaction=True)

OWNER_IP, MALLORY_IP, OTHER_IP = "10.20.0.1", "10.20.0.2", "10.20.0.3"


async def connect(code, session_key, ip):
    communicator = room_socket(code, session_key)
    communicator.scope["client"] = (ip, 50000)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def admitted_session(name, code):
    """A session whose room page was shown before (the room remembers it)."""
    store = SessionStore()
    store["name"] = name
    store[JOINED_ROOMS_SESSION_KEY] = [code]
    store.create()
    return store.session_key


@pytest.fixture
async def kicked_mallory(owned_room):
    """Ann (the owner) kicks Mallory; returns the room, Ann's socket and the session factory."""
    room, _, session = owned_room
    ann_key, mallory_key = [await database_sync_to_async(session)(n, owner=n == "Ann") for n in ("Ann", "Mallory")]
    ann = await settled(await connect(room.code, ann_key, OWNER_IP))
    mallory = await settled(await connect(room.code, mallory_key, MALLORY_IP))
    await receive_until(ann, "room_state", timeout=5, owner=True)  # the owner's standing on joining
    await ann.send_json_to({"type": "kick", "name": "Mallory"})
    frame, _ = await receive_until(ann, "room_state", timeout=5)
    assert [ban["name"] for ban in frame["bans"]] == ["Mallory"]
    yield room, ann, session, frame["bans"][0]
    for communicator in (ann, mallory):
        await communicator.disconnect()
    await stop_hubs()


async def test_a_kicked_members_address_cannot_join_again_with_a_fresh_session(kicked_mallory, settings):
    room, _, session, _ = kicked_mallory
    fresh = await database_sync_to_async(session)("Mallory2")
    frame, close_code = await refusal(await connect(room.code, fresh, MALLORY_IP))
    assert (frame["code"], close_code) == ("kicked", 4011)
    assert 60 * settings.KICK_IP_BAN_MINUTES - 5 <= frame["retry_after"] <= 60 * settings.KICK_IP_BAN_MINUTES + 1
    # The room page refuses a new cookie jar from that address too.
    browser = Client(REMOTE_ADDR=MALLORY_IP)
    await database_sync_to_async(browser.post)(f"/rooms/{room.code}/", {"name": "Mallory3"})
    page = await database_sync_to_async(browser.get)(f"/rooms/{room.code}/", follow=True)
    assert page.redirect_chain[-1][0] == "/"
    assert "removed someone at your address" in page.content.decode()
    # Another address is not concerned.
    other = await database_sync_to_async(session)("Bob")
    await (await settled(await connect(room.code, other, OTHER_IP))).disconnect()


async def test_members_already_admitted_from_the_banned_address_stay(kicked_mallory):
    room, _, _, _ = kicked_mallory
    cat = await database_sync_to_async(admitted_session)("Cat", room.code)
    await (await settled(await connect(room.code, cat, MALLORY_IP))).disconnect()


async def test_the_owner_lifts_a_ban_and_the_address_may_join_again(kicked_mallory):
    room, ann, session, ban = kicked_mallory
    stranger = await settled(await connect(room.code, await database_sync_to_async(session)("Zed"), OTHER_IP))
    await stranger.send_json_to({"type": "unban", "id": ban["id"]})
    frame, _ = await receive_until(stranger, "error", timeout=5)
    assert frame["code"] == "forbidden"
    await stranger.disconnect()

    await ann.send_json_to({"type": "unban", "id": ban["id"]})
    frame, _ = await receive_until(ann, "room_state", timeout=5, bans=[])
    assert not await database_sync_to_async(RoomBan.objects.exists)()
    await ann.send_json_to({"type": "unban", "id": ban["id"]})
    frame, _ = await receive_until(ann, "error", timeout=5)
    assert frame["code"] == "ban_not_found"
    fresh = await database_sync_to_async(session)("Mallory2")
    await (await settled(await connect(room.code, fresh, MALLORY_IP))).disconnect()


async def test_an_owner_joining_sees_the_bans_in_force(kicked_mallory):
    room, _, session, ban = kicked_mallory
    tab = await connect(room.code, await database_sync_to_async(session)("Ann", owner=True), OWNER_IP)
    frame, _ = await receive_until(tab, "room_state", timeout=5)
    assert frame["bans"] == [ban] and frame["owner"] is True
    await tab.disconnect()
