"""The read-only watch link, and the owner controls' loose ends: reconnecting to
a locked room, the new owner's owner link."""

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone

from rooms.limits import page_limits
from rooms.models import Message, Room, ServerProcess, Watcher
from rooms.services.messages import post_message
from rooms.services.moderation import set_passphrase
from rooms.services.presence import add_watcher, beat_heart, expire_stale_servers, room_presence
from rooms.services.watch import set_watch_link
from tests.support.ws import joined, receive_until, send

pytestmark = pytest.mark.django_db(transaction=True)


async def owner_and_link(open_socket, room, session):
    """The owner's socket, after it created a watch link, and the link's token."""
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    await owner.send_json_to({"type": "watch_link", "active": True})
    state, _ = await receive_until(owner, "room_state", watch_active=True)
    token = state["watch_link"].rstrip("/").split("/")[-1]
    return owner, token


async def watching(open_socket, code, token):
    """A watcher's socket (no session at all) after its opening frames, and its history frame."""
    return await joined(open_socket, code, watch=token)


async def closed_with(socket, code, close_code):
    error, _ = await receive_until(socket, "error")
    assert error["code"] == code
    assert (await socket.receive_output(timeout=2)) == {"type": "websocket.close", "code": close_code}


# --- creating, watching, revoking ---------------------------------------------------------------


async def test_owner_creates_a_watch_link_and_everyone_is_told(open_socket, owned_room):
    room, _, session = owned_room
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    owner, token = await owner_and_link(open_socket, room, session)
    assert len(token) >= 32
    notice, seen = await receive_until(bob, "system", event="watch_on")
    assert notice["name"] == "Ada"
    # Members other than the owner never see the token.
    assert not [frame for frame in seen if frame["type"] == "room_state"]
    stored = await database_sync_to_async(Room.objects.get)(pk=room.pk)
    assert stored.watch_token_hash and token not in stored.watch_token_hash  # only the hash is kept


async def test_watcher_reads_history_and_live_messages_without_being_a_member(open_socket, owned_room):
    room, _, session = owned_room
    await database_sync_to_async(post_message)(room, "Ada", "before the watcher came")
    owner, token = await owner_and_link(open_socket, room, session)
    watcher, history = await watching(open_socket, room.code, token)
    assert [message["body"] for message in history["messages"]] == ["before the watcher came"]
    presence, _ = await receive_until(owner, "presence", watchers=1)
    assert presence["members"] == ["Ada"]  # counted, not listed
    await send(owner, "live now")
    message, seen = await receive_until(watcher, "message")
    assert message["body"] == "live now"
    assert not [frame for frame in seen if frame["type"] == "system" and frame.get("event") == "join"]
    # Leaving is silent too, but the count follows.
    await watcher.disconnect()
    presence, seen = await receive_until(owner, "presence", watchers=0)
    assert not [frame for frame in seen if frame["type"] == "system"]


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message", "body": "let me in", "client_id": "w1"},
        {"type": "rename", "name": "Sneaky"},
        {"type": "typing"},
        {"type": "react", "id": 1, "emoji": "👍"},
        {"type": "kick", "name": "Ada"},
        {"type": "lock", "locked": True},
        {"type": "watch_link", "active": False},
    ],
)
async def test_watcher_cannot_send_or_change_anything(open_socket, owned_room, frame):
    room, _, session = owned_room
    owner, token = await owner_and_link(open_socket, room, session)
    watcher, _ = await watching(open_socket, room.code, token)
    await watcher.send_json_to(frame)
    error, _ = await receive_until(watcher, "error")
    assert error["code"] == "read_only"
    assert await database_sync_to_async(Message.objects.count)() == 0
    stored = await database_sync_to_async(Room.objects.get)(pk=room.pk)
    assert not stored.locked and stored.watch_token_hash
    # Still connected and still reading.
    await send(owner, "after the refusal")
    message, _ = await receive_until(watcher, "message")
    assert message["body"] == "after the refusal"


async def test_watcher_can_page_history_and_ping(open_socket, owned_room):
    room, _, session = owned_room

    def post_many():
        for number in range(60):
            post_message(room, "Ada", f"message {number}")

    await database_sync_to_async(post_many)()
    _, token = await owner_and_link(open_socket, room, session)
    watcher, history = await watching(open_socket, room.code, token)
    assert history["has_more"] is True
    await watcher.send_json_to({"type": "history", "before": history["messages"][0]["id"]})
    page, _ = await receive_until(watcher, "history")
    assert [message["body"] for message in page["messages"]] == [f"message {n}" for n in range(10)]
    await watcher.send_json_to({"type": "ping"})
    await receive_until(watcher, "pong")


async def test_revoking_disconnects_watchers_and_kills_the_link(open_socket, owned_room):
    room, _, session = owned_room
    owner, token = await owner_and_link(open_socket, room, session)
    watcher, _ = await watching(open_socket, room.code, token)
    await owner.send_json_to({"type": "watch_link", "active": False})
    await closed_with(watcher, "watch_revoked", 4014)
    await watcher.disconnect()  # what a real server reports after the close handshake
    await receive_until(owner, "system", event="watch_off")
    state, _ = await receive_until(owner, "room_state", watch_active=False)
    assert state["watch_link"] is None
    await receive_until(owner, "presence", watchers=0)
    again = await open_socket(room.code, watch=token)
    await closed_with(again, "watch_link_invalid", 4014)


async def test_replacing_the_link_closes_old_watchers_only(open_socket, owned_room):
    room, _, session = owned_room
    owner, old_token = await owner_and_link(open_socket, room, session)
    old_watcher, _ = await watching(open_socket, room.code, old_token)
    await owner.send_json_to({"type": "watch_link", "active": True})
    state, _ = await receive_until(owner, "room_state", watch_active=True)
    new_token = state["watch_link"].rstrip("/").split("/")[-1]
    assert new_token != old_token
    await closed_with(old_watcher, "watch_revoked", 4014)
    new_watcher, _ = await watching(open_socket, room.code, new_token)
    await send(owner, "for the new link")
    message, _ = await receive_until(new_watcher, "message")
    assert message["body"] == "for the new link"


async def test_only_the_owner_manages_the_watch_link(open_socket, owned_room):
    room, _, session = owned_room
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    for active in (True, False):
        await bob.send_json_to({"type": "watch_link", "active": active})
        error, _ = await receive_until(bob, "error")
        assert error["code"] == "forbidden"
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    await owner.send_json_to({"type": "watch_link", "active": "yes"})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "invalid_frame"
    assert not (await database_sync_to_async(Room.objects.get)(pk=room.pk)).watch_token_hash


async def test_wrong_token_and_foreign_origin_are_refused(open_socket, owned_room):
    room, _, session = owned_room
    _, token = await owner_and_link(open_socket, room, session)
    await closed_with(await open_socket(room.code, watch="guess"), "watch_link_invalid", 4014)
    await closed_with(await open_socket("NOROOM", watch=token), "watch_link_invalid", 4014)
    foreign = await open_socket(room.code, watch=token, origin="http://evil.example")
    await closed_with(foreign, "forbidden_origin", 4003)


async def test_token_guessing_is_rate_limited_per_ip(open_socket, owned_room, settings):
    settings.JOIN_MISS_LIMIT = 3
    room, _, session = owned_room
    _, token = await owner_and_link(open_socket, room, session)
    for guess in range(3):
        await closed_with(await open_socket(room.code, watch=f"guess{guess}"), "watch_link_invalid", 4014)
    # Locked out now, even with the right token.
    await closed_with(await open_socket(room.code, watch=token), "rate_limited", 4029)


async def test_watch_link_opens_a_room_with_a_passphrase(open_socket, owned_room):
    room, key, session = owned_room
    await database_sync_to_async(set_passphrase)(room, key, "secret words")
    _, token = await owner_and_link(open_socket, room, session)
    await watching(open_socket, room.code, token)


# --- the watch page and the owner's page ------------------------------------------------------


def test_watch_page_is_read_only_and_needs_no_name(client, owned_room):
    room, key, _ = owned_room
    token = set_watch_link(room, key, True)
    page = client.get(reverse("rooms:watch", kwargs={"code": room.code, "token": token}))
    assert page.status_code == 200
    html = page.content.decode()
    config = dict(page.context["config"])
    assert config.pop("limits") == page_limits()
    assert config == {"code": room.code, "name": None, "watch": token, "expires_at": None, "encryption": None}
    assert 'id="read-only-note"' in html and 'id="watcher-count"' in html
    for member_only in ('id="message"', 'id="send"', 'id="rename-toggle"', 'id="room-menu"', 'id="transcript-text"'):
        assert member_only not in html


def test_wrong_or_revoked_watch_link_redirects_home_with_an_error(client, owned_room):
    room, key, _ = owned_room
    token = set_watch_link(room, key, True)
    set_watch_link(room, key, False)
    for url in (
        reverse("rooms:watch", kwargs={"code": room.code, "token": token}),
        reverse("rooms:watch", kwargs={"code": room.code, "token": "guess"}),
        reverse("rooms:watch", kwargs={"code": "NOROOM", "token": token}),
    ):
        response = client.get(url, follow=True)
        assert response.redirect_chain == [("/", 302)]
        assert "That watch link is not valid (any more)." in response.content.decode()


async def test_owner_page_shows_the_link_the_session_made_after_a_reload(client, open_socket):
    response = await database_sync_to_async(client.post)("/", {"name": "Ada", "create": ""})
    code = response.url.strip("/").split("/")[-1]
    config = (await database_sync_to_async(client.get)(response.url)).context["config"]
    assert config["watch_active"] is False and config["watch_link"] is None
    owner, _ = await joined(open_socket, code, client.cookies["sessionid"].value)
    await owner.send_json_to({"type": "watch_link", "active": True})
    state, _ = await receive_until(owner, "room_state", watch_active=True)
    config = (await database_sync_to_async(client.get)(response.url)).context["config"]
    assert config["watch_active"] is True
    assert config["watch_link"] == f"http://testserver{state['watch_link']}"
    # A reconnecting owner socket is told too.
    again, _ = await joined(open_socket, code, client.cookies["sessionid"].value)
    state_again, _ = await receive_until(again, "room_state", watch_active=True)
    assert state_again["watch_link"] == state["watch_link"]


async def test_other_owner_session_learns_a_link_is_live_but_not_its_token(open_socket, owned_room):
    room, key, session = owned_room
    await database_sync_to_async(set_watch_link)(room, key, True)
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    state, _ = await receive_until(owner, "room_state", watch_active=True)
    assert state["watch_link"] is None


def test_watchers_of_a_dead_process_are_forgotten_with_it(owned_room, settings):
    room, _, _ = owned_room
    beat_heart("dead-process")
    add_watcher(room, "dead-process", "watcher-1")
    assert room_presence(room) == ([], 1)
    ServerProcess.objects.filter(id="dead-process").update(heartbeat_at=timezone.now().replace(year=2000))
    assert room_presence(room) == ([], 0)  # a silent process's watchers do not count
    assert expire_stale_servers() == {room.code: set()}  # its room's count is re-sent
    assert not Watcher.objects.exists()


# --- owner controls' loose ends -------------------------------------------------------------


async def test_member_present_at_lock_can_come_back_while_it_stays_locked(open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob_session = await database_sync_to_async(session)("Bob")
    bob, _ = await joined(open_socket, room.code, bob_session)
    await owner.send_json_to({"type": "lock", "locked": True})
    await receive_until(bob, "room_state", locked=True)
    await bob.disconnect()  # a dropped connection, a refresh
    await receive_until(owner, "presence", members=["Ada"])
    await joined(open_socket, room.code, bob_session)
    newcomer = await open_socket(room.code, await database_sync_to_async(session)("Cy"))
    await closed_with(newcomer, "locked", 4023)
    # Unlocking forgets who was admitted: a later lock admits only who is present then.
    await owner.send_json_to({"type": "lock", "locked": False})
    await receive_until(owner, "room_state", locked=False)
    assert (await database_sync_to_async(Room.objects.get)(pk=room.pk)).admitted_while_locked == []


async def test_new_owner_gets_a_working_owner_link_without_reloading(client, open_socket, owned_room):
    room, _, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    bob, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    await owner.send_json_to({"type": "transfer", "to": "Bob"})
    state, _ = await receive_until(bob, "room_state", owner=True)
    assert state["owner_link"].startswith(f"/rooms/{room.code}/own/")
    # The link works in another browser (another session: "Bob" is taken by the first one).
    await database_sync_to_async(client.post)("/", {"name": "Bob on the phone", "code": room.code, "join": ""})
    response = await database_sync_to_async(client.get)(state["owner_link"])
    assert response.status_code == 302 and response.url == f"/rooms/{room.code}/"
    assert (await database_sync_to_async(client.get)(response.url)).context["config"]["owner"] is True
