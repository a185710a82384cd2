"""The bots' HTTP API (docs/protocol.md, "Bots and webhooks"): tokens, errors as JSON, posting
(idempotent, rate-limited per token, live to the room's sockets) and following a room by log position."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.test import Client

from rooms.limits import BOT_POSTS_PER_WINDOW, BOT_REQUEST_MAX_BYTES
from rooms.models import Message
from rooms.services.bots import create_bot_token, revoke_bot_token
from rooms.services.rooms import create_room
from tests.support.bots import assert_error, room_with_bot
from tests.support.ws import next_of, read_opening, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot_room():
    """A room with an owner key and one bot token "CI"; returns (room, owner key, token)."""
    return room_with_bot("CI")


def url(room):
    return f"/api/v1/rooms/{room.code}/messages"


def post(client, room, token, data, content_type="application/json"):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(url(room), body, content_type=content_type, headers=headers)


def test_a_bot_posts_a_message_stored_as_a_bots(bot_room):
    room, _key, token = bot_room
    response = post(Client(), room, token, {"body": "build 42 passed", "client_id": "build-42"})
    assert response.status_code == 201
    message = response.json()
    assert message["type"] == "message" and message["body"] == "build 42 passed"
    assert message["name"] == "CI" and message["bot"] is True and message["author"] is None
    stored = Message.objects.get(room=room)
    assert stored.bot and stored.name == "CI" and stored.seq == message["seq"]


def test_a_resend_of_a_client_id_answers_the_stored_message_with_200(bot_room):
    room, _key, token = bot_room
    first = post(Client(), room, token, {"body": "deploy started", "client_id": "d-1"})
    again = post(Client(), room, token, {"body": "deploy started", "client_id": "d-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Message.objects.filter(room=room).count() == 1


def test_slash_commands_of_bots_are_stored_as_text(bot_room):
    room, _key, token = bot_room
    response = post(Client(), room, token, {"body": "/me restarts the runner"})
    assert response.status_code == 201
    assert response.json()["body"] == "/me restarts the runner" and "action" not in response.json()


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "bearer " + "x" * 300])
def test_missing_or_unknown_tokens_get_401(bot_room, header):
    room, _key, _token = bot_room
    headers = {"Authorization": header} if header else {}
    response = Client().post(url(room), {"body": "hi"}, content_type="application/json", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Message.objects.exists()


def test_a_revoked_token_gets_401(bot_room):
    room, key, token = bot_room
    revoke_bot_token(room, key, "CI")
    assert_error(post(Client(), room, token, {"body": "hi"}), 401, "unauthorized")
    assert_error(Client().get(url(room), headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")


def test_a_token_of_another_room_gets_403_and_an_unknown_room_404(bot_room):
    room, _key, token = bot_room
    other = create_room()
    assert_error(post(Client(), other, token, {"body": "hi"}), 403, "forbidden")
    response = Client().get("/api/v1/rooms/ZZZZZZ/messages", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 404, "room_not_found")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "body, code",
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ({"body": ""}, "empty_message"),
        ({"body": 5}, "invalid_message"),
        ({"body": "hi", "client_id": ""}, "invalid_client_id"),
        ({"body": "hi", "extra": 1}, "invalid_request"),
        ({"body": "x" * 5000}, "message_too_long"),
    ],
)
def test_bad_bodies_get_400_and_store_nothing(bot_room, body, code):
    room, _key, token = bot_room
    assert_error(post(Client(), room, token, body), 400, code)
    assert not Message.objects.exists()


def test_a_body_over_the_limit_gets_413_not_a_page(bot_room):
    room, _key, token = bot_room
    huge = json.dumps({"body": "x" * (BOT_REQUEST_MAX_BYTES + 10)})
    assert_error(post(Client(), room, token, huge), 413, "request_too_large")
    assert not Message.objects.exists()


def test_other_methods_and_paths_under_api_answer_json(bot_room):
    room, _key, token = bot_room
    response = Client().delete(url(room), headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 405, "method_not_allowed")
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
    assert_error(Client().get("/api/v2/whatever"), 404, "not_found")
    assert_error(Client().get("/api/"), 404, "not_found")


def test_a_flood_gets_429_with_retry_after_and_spares_other_tokens(bot_room, long_budget_window):
    room, key, token = bot_room
    _other, other_token = create_bot_token(room, key, "Grafana")
    client = Client()
    for number in range(BOT_POSTS_PER_WINDOW):
        assert post(client, room, token, {"body": f"spam {number}"}).status_code == 201
    flooded = post(client, room, token, {"body": "one too many"})
    assert_error(flooded, 429, "rate_limited")
    assert int(flooded["Retry-After"]) >= 1
    assert post(client, room, other_token, {"body": "alert: disk full"}).status_code == 201
    assert Message.objects.filter(room=room).count() == BOT_POSTS_PER_WINDOW + 1


async def api_post(room, token, data):
    """POST through the real ASGI application (its request threads), as a server process runs it."""
    from chatsite.asgi import application

    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    path = url(room).encode()
    communicator = HttpCommunicator(application, "POST", path.decode(), json.dumps(data).encode(), headers)
    response = await communicator.get_response(timeout=5)
    return response["status"], json.loads(response["body"])


async def test_a_member_sees_a_bots_message_live_and_can_still_send_during_a_flood(
    bot_room, open_socket, session_for, long_budget_window
):
    room, _key, token = bot_room
    member = await open_socket(room.code, await database_sync_to_async(session_for)("Ann"))
    await read_opening(member)
    status, posted = await api_post(room, token, {"body": "build 7 failed"})
    assert status == 201
    live = await next_of(member, "message")
    assert live == posted
    assert live["bot"] is True and live["name"] == "CI" and live["body"] == "build 7 failed"
    for number in range(BOT_POSTS_PER_WINDOW):
        await api_post(room, token, {"body": f"flood {number}"})
    status, flooded = await api_post(room, token, {"body": "more"})
    assert status == 429 and flooded["error"] == "rate_limited"
    await send(member, "still here", client_id="ann-1")
    while (frame := await next_of(member, "message"))["body"] != "still here":
        assert frame.get("bot") is True
    assert "bot" not in frame and frame["name"] == "Ann"


def test_following_a_room_by_log_position_in_pages(bot_room):
    room, _key, token = bot_room
    client = Client()
    for number in range(5):
        post(client, room, token, {"body": f"line {number}"})
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get(url(room), {"after_seq": 0, "limit": 2}, headers=headers).json()
    assert [m["body"] for m in first["messages"]] == ["line 0", "line 1"] and first["has_more"] is True
    rest = client.get(url(room), {"after_seq": first["next_after_seq"], "limit": 10}, headers=headers).json()
    assert [m["body"] for m in rest["messages"]] == ["line 2", "line 3", "line 4"] and rest["has_more"] is False
    empty = client.get(url(room), {"after_seq": rest["next_after_seq"]}, headers=headers).json()
    assert empty == {"messages": [], "next_after_seq": rest["next_after_seq"], "has_more": False}
    assert all(m["bot"] is True for m in first["messages"] + rest["messages"])


@pytest.mark.parametrize("query", ["after_seq=-1", "after_seq=abc", "limit=0", "limit=100000"])
def test_bad_paging_parameters_get_400(bot_room, query):
    room, _key, token = bot_room
    response = Client().get(f"{url(room)}?{query}", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 400, "invalid_query")


def test_the_openapi_document_is_served_as_json():
    document = Client().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/api/v1/rooms/{code}/messages", "/hooks/{token}"}
