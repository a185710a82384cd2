"""The operators' admin: what an operator sees in /admin/ and what its actions do."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rooms.admin import LATEST_MESSAGES_SHOWN
from rooms.models import Message, Room, RoomSanction
from rooms.protocol import ROOM_REMOVED
from rooms.realtime.hub import get_hub
from rooms.services.admission import check_may_join
from rooms.services.messages import post_message
from rooms.services.moderation import kick_member, new_owner_key, set_locked
from rooms.services.operators import purge_rooms, rooms_with_stats
from rooms.services.watch import set_watch_link
from tests.support.database import be_online, make_room
from tests.support.ws import settled

ROOMS_URL = reverse("admin:rooms_room_changelist")
MESSAGES_URL = reverse("admin:rooms_message_changelist")


def listed_codes(response):
    assert response.status_code == 200
    return {room.code for room in response.context["cl"].result_list}


def purge_action(client, rooms, confirm):
    data = {"action": "purge_selected", "_selected_action": [room.pk for room in rooms]}
    if confirm:
        data["post"] = "yes"
    return client.post(ROOMS_URL, data, follow=confirm)


# --- room list --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_room_list_shows_activity_message_count_and_members_online(admin_client):
    busy = make_room(title="Busy", messages=3)
    be_online(busy, "Bob")
    be_online(busy, "Cy")
    make_room(title="Empty")

    response = admin_client.get(ROOMS_URL)

    rows = {room.code: room for room in response.context["cl"].result_list}
    assert rows[busy.code].message_count == 3
    assert rows[busy.code].members_online == 2
    page = response.content.decode()
    for column in ["Code", "Title", "Created at", "Last activity", "Messages", "Members online"]:
        assert f">{column}<" in page
    assert "Busy" in page and "Empty" in page


@pytest.mark.django_db
def test_room_stats_are_one_query_however_many_rooms():
    for number in range(6):
        room = make_room(messages=number)
        be_online(room, f"member{number}")
    with CaptureQueriesContext(connection) as queries:
        rooms = list(rooms_with_stats().order_by("pk"))
        counts = [(room.message_count, room.members_online, room.last_activity is not None) for room in rooms]
    assert len(queries) == 1
    assert counts == [(number, 1, True) for number in range(6)]


@pytest.mark.django_db
def test_the_room_list_page_costs_the_same_queries_for_3_or_30_rooms(admin_client):
    def queries_for_the_list():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(ROOMS_URL).status_code == 200
        return len(queries)

    for _ in range(3):
        make_room(messages=2)
    few = queries_for_the_list()
    for _ in range(27):
        make_room(messages=2)
    assert queries_for_the_list() == few


@pytest.mark.django_db
def test_room_filters_active_today_idle_and_empty(admin_client, settings):
    settings.ROOM_IDLE_DAYS = 30
    today = make_room(messages=1)
    week_old = make_room(messages=1, days_old=8)
    month_old = make_room(messages=1, days_old=40)
    empty_old = make_room(days_old=40)
    occupied_old = make_room(messages=1, days_old=40)
    be_online(occupied_old, "Bob")

    assert listed_codes(admin_client.get(ROOMS_URL, {"activity": "today"})) == {today.code}
    assert listed_codes(admin_client.get(ROOMS_URL, {"activity": "idle-7"})) == {
        week_old.code,
        month_old.code,
        empty_old.code,
    }
    assert listed_codes(admin_client.get(ROOMS_URL, {"activity": "idle-30"})) == {month_old.code, empty_old.code}
    assert listed_codes(admin_client.get(ROOMS_URL, {"messages": "none"})) == {empty_old.code}
    assert listed_codes(admin_client.get(ROOMS_URL, {"online": "yes"})) == {occupied_old.code}
    page = admin_client.get(ROOMS_URL).content.decode()
    for choice in ["Active today", "Idle over 7 days", "Idle over 30 days", "Empty (no messages)"]:
        assert choice in page


@pytest.mark.django_db
def test_room_search_by_code_or_title(admin_client):
    standup = make_room(title="Daily standup")
    other = make_room(title="Random")
    assert listed_codes(admin_client.get(ROOMS_URL, {"q": "standup"})) == {standup.code}
    assert listed_codes(admin_client.get(ROOMS_URL, {"q": other.code.lower()})) == {other.code}


# --- room page --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_room_page_shows_the_latest_messages_read_only_and_links_to_all(admin_client):
    room = make_room(title="History", messages=LATEST_MESSAGES_SHOWN + 5)
    be_online(room, "Zoe")
    be_online(room, "bob")
    Message.objects.filter(room=room, body="message 0").update(body="the very first")
    newest = f"message {LATEST_MESSAGES_SHOWN + 4}"

    response = admin_client.get(reverse("admin:rooms_room_change", args=[room.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert newest in page
    assert "the very first" not in page  # older than the latest N: on the Message list instead
    assert f"Latest {LATEST_MESSAGES_SHOWN} messages, newest first" in page
    assert f'href="{MESSAGES_URL}?room={room.pk}"' in page
    assert f"All {LATEST_MESSAGES_SHOWN + 5} messages of this room" in page
    assert 'name="messages-0-body"' not in page  # read-only: no inputs for messages
    assert "2: bob, Zoe" in page  # who is online now


@pytest.mark.django_db
def test_room_page_shows_the_owners_settings_and_sanctions_which_can_be_lifted(admin_client):
    room = make_room(title="Moderated")
    key = new_owner_key(room)
    be_online(room, "Bob")
    set_locked(room, key, True)
    set_watch_link(room, key, True)
    kick_member(room, key, "Bob")
    sanction = RoomSanction.objects.get(room=room)

    page = admin_client.get(reverse("admin:rooms_room_change", args=[room.pk])).content.decode()
    assert "locked; no passphrase; no expiry; watch link live (0 watching)" in page
    assert "Kicks and mutes by the owner" in page
    assert "Bob…" in page  # the session, shortened (be_online uses the name as the session key)

    listing = admin_client.get(reverse("admin:rooms_roomsanction_changelist"))
    assert listing.status_code == 200 and room.code in listing.content.decode()
    # Deleting the sanction lifts the kick: the session may join again.
    admin_client.post(reverse("admin:rooms_roomsanction_delete", args=[sanction.pk]), {"post": "yes"})
    assert not RoomSanction.objects.exists()
    check_may_join(room, "Bob")  # admitted while locked, and no longer kicked


@pytest.mark.django_db
def test_room_title_can_be_edited_but_not_to_control_characters(admin_client):
    room = make_room(title="Old")
    url = reverse("admin:rooms_room_change", args=[room.pk])
    inline = {
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "sanctions-TOTAL_FORMS": "0",
        "sanctions-INITIAL_FORMS": "0",
        "bot_tokens-TOTAL_FORMS": "0",
        "bot_tokens-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, {"title": "bad\x07title", **inline})
    assert response.status_code == 200
    assert "Titles cannot contain control characters." in response.content.decode()
    admin_client.post(url, {"title": "  New title ", **inline})
    room.refresh_from_db()
    assert room.title == "New title"


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_message_list_searches_body_and_name_and_filters_by_room_and_date(admin_client):
    first = make_room(title="First")
    second = make_room(title="Second")
    post_message(first, "Ann", "the deploy is done")
    post_message(second, "Bob", "lunch?")
    old = Message.objects.create(room=second, name="Cy", body="ancient", created_at=timezone.now() - timedelta(days=60))

    def bodies(**query):
        response = admin_client.get(MESSAGES_URL, query)
        assert response.status_code == 200
        return {message.body for message in response.context["cl"].result_list}

    assert bodies(q="deploy") == {"the deploy is done"}
    assert bodies(q="bob") == {"lunch?"}
    assert bodies(room=second.pk) == {"lunch?", "ancient"}
    assert bodies(room="not-a-number") == set()
    since = (timezone.now() - timedelta(days=7)).isoformat()
    assert bodies(created_at__gte=since) == {"the deploy is done", "lunch?"}
    assert bodies(created_at__year=old.created_at.year, created_at__month=old.created_at.month) >= {"ancient"}


@pytest.mark.django_db
def test_message_list_costs_the_same_queries_for_few_or_many_rooms(admin_client):
    def queries_for_the_list():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(MESSAGES_URL).status_code == 200
        return len(queries)

    for _ in range(2):
        make_room(messages=1)
    few = queries_for_the_list()
    for _ in range(10):
        make_room(messages=1)
    assert queries_for_the_list() == few


# --- actions ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_purge_asks_first_showing_the_rooms_and_message_counts(admin_client):
    doomed = make_room(title="Doomed", messages=7)
    also = make_room(messages=2)
    be_online(doomed, "Bob")

    response = purge_action(admin_client, [doomed, also], confirm=False)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Are you sure you want to purge 2 rooms?" in page
    assert "all of their 9 messages" in page
    assert "1 member online will be disconnected" in page
    assert f"<td>{doomed.code}</td><td>Doomed</td><td>7</td><td>1</td>" in page
    assert Room.objects.count() == 2 and Message.objects.count() == 9  # nothing deleted yet


@pytest.mark.django_db
def test_purge_after_confirming_deletes_the_rooms_and_their_messages(admin_client):
    doomed = make_room(messages=7)
    also = make_room(messages=2)
    kept = make_room(messages=1)

    response = purge_action(admin_client, [doomed, also], confirm=True)

    assert "Purged 2 room(s) and 9 message(s)." in response.content.decode()
    assert list(Room.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(Message.objects.values_list("room_id", flat=True)) == [kept.pk]


@pytest.mark.django_db
def test_djangos_delete_selected_is_replaced_by_the_purge(admin_client):
    make_room()
    actions = dict(admin_client.get(ROOMS_URL).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert actions["purge_selected"] == "Purge selected rooms (and their messages)"
    assert actions["export_selected"] == "Export selected rooms as JSON"


@pytest.mark.django_db
def test_deleting_from_the_room_page_summarises_instead_of_listing_every_message(admin_client):
    room = make_room(title="Big", messages=30)
    url = reverse("admin:rooms_room_delete", args=[room.pk])
    page = admin_client.get(url).content.decode()
    assert f"Room {room.code} (Big): 30 messages, 0 online" in page
    assert "message 12" not in page
    admin_client.post(url, {"post": "yes"})
    assert not Room.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_export_selected_rooms_downloads_their_full_history_as_json(admin_client):
    first = make_room(title="One", messages=3)
    second = make_room(title="Two", messages=1)
    make_room(title="Not selected", messages=1)

    response = admin_client.post(ROOMS_URL, {"action": "export_selected", "_selected_action": [first.pk, second.pk]})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="roomchat-')
    data = json.loads(b"".join(response.streaming_content))
    exported = {room["code"]: room for room in data["rooms"]}
    assert set(exported) == {first.code, second.code}
    assert [m["body"] for m in exported[first.code]["messages"]] == ["message 0", "message 1", "message 2"]
    assert exported[second.code]["title"] == "Two"


# --- live members of a purged room -------------------------------------------------------------


async def assert_closed_as_removed(communicator):
    frames = []
    while True:
        output = await communicator.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            break
        frames.append(json.loads(output["text"]))
    # Exactly once, though the removal can be announced more than once (event, then heartbeat).
    errors = [frame for frame in frames if frame["type"] == "error"]
    assert errors == [{"type": "error", "code": "room_removed", "detail": "This room was removed by an operator."}]
    assert output["code"] == 4010


@pytest.mark.django_db(transaction=True)
async def test_purging_from_the_admin_closes_members_websockets_with_room_removed(
    async_client, admin_user, session_for, open_socket
):
    room, other = await database_sync_to_async(lambda: (make_room(messages=1), make_room()))()
    ann = await database_sync_to_async(session_for)("Ann")
    in_room = await open_socket(room.code, ann)
    in_other = await open_socket(other.code, ann)
    await settled(in_room)
    await settled(in_other)
    await async_client.aforce_login(admin_user)

    response = await async_client.post(
        ROOMS_URL, {"action": "purge_selected", "_selected_action": [room.pk], "post": "yes"}
    )

    assert response.status_code == 302
    await assert_closed_as_removed(in_room)
    assert await in_other.receive_nothing(timeout=0.2)  # other rooms are untouched


@pytest.mark.django_db(transaction=True)
async def test_a_room_deleted_by_another_process_closes_its_websockets_on_the_next_heartbeat(
    settings, session_for, open_socket
):
    # With the in-memory layer a `manage.py purge_rooms` process cannot reach the server: the
    # server's heartbeat notices the room is gone.
    settings.PRESENCE_HEARTBEAT_SECONDS = 0.05
    room = await database_sync_to_async(make_room)()
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann)
    await settled(communicator)

    await database_sync_to_async(lambda: Room.objects.filter(pk=room.pk).delete())()

    await assert_closed_as_removed(communicator)


@pytest.mark.django_db(transaction=True)
async def test_exporting_under_asgi_streams_asynchronously(async_client, admin_user):
    room = await database_sync_to_async(make_room)(title="Async", messages=2)
    await async_client.aforce_login(admin_user)
    response = await async_client.post(ROOMS_URL, {"action": "export_selected", "_selected_action": [room.pk]})
    assert response.is_async
    content = b"".join([chunk async for chunk in response.streaming_content])
    assert [m["body"] for m in json.loads(content)["rooms"][0]["messages"]] == ["message 0", "message 1"]


def redis_is_up():
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.production
@pytest.mark.skipif(not redis_is_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
async def test_a_purge_in_another_process_reaches_the_server_through_the_shared_layer(
    settings, session_for, open_socket
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"], "prefix": "roomchat-operators-test"},
        }
    }
    settings.PRESENCE_HEARTBEAT_SECONDS = 60  # so only the layer can deliver the notice in time
    room = await database_sync_to_async(make_room)()
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann)
    await settled(communicator)

    # Like `manage.py purge_rooms`: a thread with no hub and its own event loop for the announcement.
    def purge_like_a_command():
        try:
            return purge_rooms(Room.objects.filter(pk=room.pk))
        finally:
            connections.close_all()  # this thread's own database connection

    result = await asyncio.to_thread(purge_like_a_command)

    assert result.codes == [room.code]
    await assert_closed_as_removed(communicator)


@pytest.mark.django_db(transaction=True)
async def test_a_removal_announced_twice_closes_once_with_one_error(session_for, open_socket):
    """A purge's own event and a heartbeat's check can both reach a connection before it closes."""
    room = await database_sync_to_async(make_room)()
    communicator = await open_socket(room.code, await database_sync_to_async(session_for)("Ann"))
    await settled(communicator)
    hub = get_hub()
    hub.deliver(room.code, ROOM_REMOVED)
    hub.deliver(room.code, ROOM_REMOVED)
    await assert_closed_as_removed(communicator)


# --- login throttle ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_login_refuses_an_address_after_too_many_wrong_passwords(settings, django_user_model):
    from django.test import Client

    settings.AXES_FAILURE_LIMIT = 3
    django_user_model.objects.create_superuser("operator", password="right-password")

    def log_in(password, ip="10.30.0.1"):
        browser = Client(REMOTE_ADDR=ip)
        return browser.post(reverse("admin:login"), {"username": "operator", "password": password})

    for _ in range(2):
        assert log_in("wrong").status_code == 200  # the form again, "please enter the correct …"
    assert log_in("wrong").status_code == 429  # the limit reached: locked out
    refused = log_in("right-password")
    assert refused.status_code == 429  # even the right password, from that address, for the cool-off
    assert log_in("right-password", ip="10.30.0.2").status_code == 302  # another address logs in
