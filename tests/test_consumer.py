"""The websocket protocol as a client sees it (docs/protocol.md)."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from rooms.realtime.hub import stop_hubs
from rooms.services.messages import post_message
from rooms.services.rooms import create_room, find_room
from tests.support.database import stored_bodies
from tests.support.ws import joined, receive_until, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_history_is_the_first_frame_with_the_last_50_oldest_first(room, session_for, open_socket):
    def post_many():
        for number in range(60):
            post_message(room, "Ann", f"message {number}")

    await database_sync_to_async(post_many)()
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann)
    history = await communicator.receive_json_from(timeout=2)
    assert history["type"] == "history"
    assert history["has_more"] is True
    bodies = [m["body"] for m in history["messages"]]
    assert bodies == [f"message {n}" for n in range(10, 60)]
    ids = [m["id"] for m in history["messages"]]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert history["messages"][0]["ts"].endswith("Z")


async def test_a_message_reaches_everyone_in_its_room_and_nobody_elsewhere(session_for, open_socket):
    room, other_room = await database_sync_to_async(lambda: (create_room(), create_room()))()
    ann, bob, cat = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob", "Cat")]
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    cat_socket, _ = await joined(open_socket, other_room.code, cat)

    await send(ann_socket, "  hello room  ", client_id="c-1")
    for communicator in (ann_socket, bob_socket):
        frame, _ = await receive_until(communicator, "message")
        assert frame["name"] == "Ann"
        assert frame["body"] == "hello room"
        assert frame["client_id"] == "c-1"
        assert isinstance(frame["id"], int)
    assert await cat_socket.receive_nothing(timeout=0.3)
    assert await stored_bodies(room.code) == ["hello room"]


async def test_join_leave_and_presence_frames(room, session_for, open_socket):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)

    joined_frame, _ = await receive_until(ann_socket, "system", event="join", name="Bob")
    assert joined_frame["ts"].endswith("Z")
    presence, _ = await receive_until(ann_socket, "presence")
    assert presence["members"] == ["Ann", "Bob"]

    await bob_socket.disconnect()
    await receive_until(ann_socket, "system", event="leave", name="Bob")
    presence, _ = await receive_until(ann_socket, "presence")
    assert presence["members"] == ["Ann"]


async def test_second_tab_of_the_same_person_announces_no_second_join(room, session_for, open_socket):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    bob_socket, _ = await joined(open_socket, room.code, bob)
    first_tab, _ = await joined(open_socket, room.code, ann)
    await receive_until(bob_socket, "system", event="join", name="Ann")
    await joined(open_socket, room.code, ann)
    presence, seen = await receive_until(bob_socket, "presence")
    assert presence["members"] == ["Ann", "Bob"]
    assert not [f for f in seen if f["type"] == "system"]
    await first_tab.disconnect()
    presence, seen = await receive_until(bob_socket, "presence")
    assert presence["members"] == ["Ann", "Bob"]  # Ann is still here in her other tab
    assert not [f for f in seen if f["type"] == "system"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ("42", "invalid_frame"),
        ('{"body": "no type"}', "unknown_type"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "message"}', "invalid_message"),
        ('{"type": "message", "body": 5}', "invalid_message"),
        ('{"type": "message", "body": "   "}', "empty_message"),
        ('{"type": "message", "body": "' + "x" * 2001 + '"}', "message_too_long"),
        ('{"type": "message", "body": "hi", "admin": true}', "invalid_frame"),
        ('{"type": "message", "body": "bell\\u0007"}', "invalid_message"),
        ('{"type": "message", "body": "hi", "client_id": 7}', "invalid_client_id"),
    ],
)
async def test_bad_frames_get_an_error_store_nothing_and_the_connection_lives(
    raw, code, room, session_for, open_socket
):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator, _ = await joined(open_socket, room.code, ann)
    await communicator.send_to(text_data=raw)
    frame, _ = await receive_until(communicator, "error")
    assert frame["code"] == code
    assert frame["detail"]
    assert await stored_bodies(room.code) == []
    await send(communicator, "still here")
    message, _ = await receive_until(communicator, "message")
    assert message["body"] == "still here"


async def test_binary_and_oversized_frames_are_refused(room, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator, _ = await joined(open_socket, room.code, ann)
    await communicator.send_to(bytes_data=b"\x00\x01")
    frame, _ = await receive_until(communicator, "error")
    assert frame["code"] == "binary_not_supported"
    await communicator.send_to(text_data=json.dumps({"type": "message", "body": "é" * 9000}))
    frame, _ = await receive_until(communicator, "error")
    assert frame["code"] == "frame_too_large"
    assert await stored_bodies(room.code) == []


async def test_refused_without_a_name_in_the_session(room, open_socket):
    communicator = await open_socket(room.code, session_key=None)
    frame = await communicator.receive_json_from(timeout=2)
    assert frame == {"type": "error", "code": "no_name", "detail": frame["detail"]}
    assert (await communicator.receive_output(timeout=2))["code"] == 4001


async def test_refused_for_an_unknown_room(db, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket("ZZZZZZ", ann)
    frame = await communicator.receive_json_from(timeout=2)
    assert frame["code"] == "room_not_found"
    assert (await communicator.receive_output(timeout=2))["code"] == 4004


async def test_refused_from_a_foreign_origin(room, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, origin="http://evil.example")
    frame = await communicator.receive_json_from(timeout=2)
    assert frame["code"] == "forbidden_origin"
    assert (await communicator.receive_output(timeout=2))["code"] == 4003


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:19399",  # another port of the same host: another site
        "https://127.0.0.1:8000",  # another scheme
        "http://127.0.0.1",  # the default port is another port
        "http://localhost:8000",  # an allowed host, but not the one this page was served from
    ],
)
async def test_refused_from_another_port_or_scheme_of_the_same_host(origin, room, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, origin=origin)
    frame = await communicator.receive_json_from(timeout=2)
    assert frame["code"] == "forbidden_origin"
    assert (await communicator.receive_output(timeout=2))["code"] == 4003


def handshake(origin, host, scheme):
    headers = [(b"origin", origin.encode())] + ([(b"host", host.encode())] if host else [])
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "trusted", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", [], True),
        ("https://chat.example.org", "chat.example.org", "wss", [], True),
        ("http://chat.example.org", "chat.example.org", "wss", [], False),
        ("https://chat.example.org", "chat.example.org", "ws", [], False),
        ("HTTP://127.0.0.1:8000", "127.0.0.1:8000", "ws", [], True),
        # DNS rebinding: the attacker's name resolves to us; Host and Origin agree but are not ours.
        ("http://evil.example:8000", "evil.example:8000", "ws", [], False),
        ("http://127.0.0.1:8000", None, "ws", [], False),
        # Behind a TLS proxy that does not pass the scheme on: the origin must be trusted.
        ("https://chat.example.org", "chat.example.org", "ws", ["https://chat.example.org"], True),
        ("https://a.chat.example.org", "chat.example.org", "ws", ["https://*.chat.example.org"], True),
        ("http://a.chat.example.org", "chat.example.org", "ws", ["https://*.chat.example.org"], False),
        ("https://chat.example.org:444", "chat.example.org", "ws", ["https://chat.example.org"], False),
    ],
)
def test_origin_check_is_the_csrf_same_origin_rule(origin, host, scheme, trusted, allowed, settings):
    from rooms.realtime.origin import same_origin

    settings.ALLOWED_HOSTS = ["127.0.0.1", "chat.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = trusted
    assert same_origin(handshake(origin, host, scheme)) is allowed


async def test_refused_without_an_origin(room, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, origin=None)
    frame = await communicator.receive_json_from(timeout=2)
    assert frame["code"] == "forbidden_origin"


async def test_the_only_member_reconnecting_keeps_the_room_and_history(room, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator, _ = await joined(open_socket, room.code, ann)
    await send(communicator, "before refresh")
    await receive_until(communicator, "message")
    await communicator.disconnect()

    communicator, history = await joined(open_socket, room.code, ann)
    assert [m["body"] for m in history["messages"]] == ["before refresh"]
    assert await database_sync_to_async(find_room)(room.code) is not None


async def test_history_survives_a_restart(room, session_for, open_socket):
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.sessions import SessionMiddlewareStack

    from rooms.realtime.origin import ExplainingOriginValidator
    from rooms.realtime.routing import websocket_urlpatterns

    ann = await database_sync_to_async(session_for)("Ann")
    communicator, _ = await joined(open_socket, room.code, ann)
    await send(communicator, "kept across restarts")
    await receive_until(communicator, "message")
    await communicator.disconnect()
    await stop_hubs()  # the old process's state is gone

    restarted = ProtocolTypeRouter(
        {"websocket": ExplainingOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns)))}
    )
    communicator, history = await joined(open_socket, room.code, ann, app=restarted)
    assert [m["body"] for m in history["messages"]] == ["kept across restarts"]


async def test_resume_after_an_id_sends_exactly_the_missed_messages(room, session_for, open_socket):
    def post(bodies):
        return [post_message(room, "Ann", body)[0].id for body in bodies]

    ids = await database_sync_to_async(post)(["one", "two", "three"])
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, query=f"after={ids[0]}")
    history = await communicator.receive_json_from(timeout=2)
    assert history["type"] == "history"
    assert [m["body"] for m in history["messages"]] == ["two", "three"]


async def test_a_resend_with_the_same_client_id_is_stored_and_broadcast_once(room, session_for, open_socket):
    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket, _ = await joined(open_socket, room.code, ann)
    bob_socket, _ = await joined(open_socket, room.code, bob)
    await send(ann_socket, "once", client_id="same")
    first, _ = await receive_until(ann_socket, "message")
    await receive_until(bob_socket, "message")
    await send(ann_socket, "once", client_id="same")
    echo, _ = await receive_until(ann_socket, "message")
    assert echo["id"] == first["id"]
    assert await bob_socket.receive_nothing(timeout=0.3)
    assert await stored_bodies(room.code) == ["once"]


async def test_a_burst_beyond_the_rate_limit_is_refused_and_not_stored(room, session_for, open_socket, settings):
    settings.MESSAGE_RATE_PER_SECOND = 1
    settings.MESSAGE_RATE_BURST = 3
    ann = await database_sync_to_async(session_for)("Ann")
    communicator, _ = await joined(open_socket, room.code, ann)
    for number in range(5):
        await send(communicator, f"flood {number}")
    codes = []
    for _ in range(5):
        frame = await communicator.receive_json_from(timeout=2)
        codes.append(frame.get("code") or frame["type"])
    assert codes.count("message") == 3
    assert codes.count("rate_limited") == 2
    assert len(await stored_bodies(room.code)) == 3


async def test_ping_is_answered(room, session_for, open_socket):
    ann = await database_sync_to_async(session_for)("Ann")
    communicator, _ = await joined(open_socket, room.code, ann)
    await communicator.send_json_to({"type": "ping"})
    frame, _ = await receive_until(communicator, "pong")
    assert frame == {"type": "pong"}


async def test_many_rooms_run_in_parallel_without_crosstalk(session_for, open_socket):
    rooms = await database_sync_to_async(lambda: [create_room() for _ in range(4)])()
    sockets = []
    for index, each in enumerate(rooms):
        key = await database_sync_to_async(session_for)(f"Member {index}")
        sockets.append((await joined(open_socket, each.code, key))[0])
    await asyncio.gather(*(send(s, f"for room {i}") for i, s in enumerate(sockets)))
    for index, communicator in enumerate(sockets):
        frame, _ = await receive_until(communicator, "message")
        assert frame["body"] == f"for room {index}"
        assert await communicator.receive_nothing(timeout=0.1)
