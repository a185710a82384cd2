"""Slack-compatible incoming webhooks (`POST /hooks/<TOKEN>`): the payloads that tools sending to
Slack post unchanged, Slack's `ok`, the same limits as the API, and JSON errors."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from rooms.limits import BOT_POSTS_PER_WINDOW, BOT_REQUEST_MAX_BYTES
from rooms.models import Message
from rooms.services.bots import create_bot_token, revoke_bot_token
from tests.support.bots import assert_error, room_with_bot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hook():
    """A room with a bot token "Grafana"; returns (room, owner key, token)."""
    return room_with_bot("Grafana")


def post_json(token, payload):
    return Client().post(f"/hooks/{token}", json.dumps(payload), content_type="application/json")


def test_a_json_payload_posts_with_slacks_ok(hook):
    room, _key, token = hook
    response = post_json(token, {"text": "CPU high on web-1", "username": "Alerts"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and response.content == b"ok"
    message = Message.objects.get(room=room)
    assert (message.name, message.body, message.bot) == ("Alerts", "CPU high on web-1", True)


def test_a_form_encoded_payload_posts_too(hook):
    room, _key, token = hook
    form = urlencode({"payload": json.dumps({"text": "deploy done"})})
    response = Client().post(f"/hooks/{token}", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.content == b"ok"
    message = Message.objects.get(room=room)
    assert (message.name, message.body, message.bot) == ("Grafana", "deploy done", True)


def test_legacy_attachments_give_the_text_when_there_is_none(hook):
    room, _key, token = hook
    payload = {"attachments": [{"title": "[FIRING:1] DiskFull", "text": "/var is 97% full"}, {"fallback": "2 more"}]}
    assert post_json(token, payload).status_code == 200
    assert Message.objects.get(room=room).body == "[FIRING:1] DiskFull\n/var is 97% full\n\n2 more"


@pytest.mark.parametrize("username", ["", "   ", "x" * 200, "bad\u0007name", 42])
def test_an_invalid_username_falls_back_to_the_token_name(hook, username):
    room, _key, token = hook
    assert post_json(token, {"text": "hello", "username": username}).status_code == 200
    assert Message.objects.get(room=room).name == "Grafana"


def test_slash_commands_are_not_read(hook):
    room, _key, token = hook
    assert post_json(token, {"text": "/nick Owner"}).status_code == 200
    message = Message.objects.get(room=room)
    assert message.body == "/nick Owner" and message.name == "Grafana" and message.bot


def test_unknown_and_revoked_tokens_get_401(hook):
    room, key, token = hook
    assert_error(post_json("not-a-token", {"text": "hi"}), 401, "unauthorized")
    revoke_bot_token(room, key, "Grafana")
    assert_error(post_json(token, {"text": "hi"}), 401, "unauthorized")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "body, content_type, code",
    [
        ("not json", "application/json", "invalid_json"),
        ("text=hello", "application/x-www-form-urlencoded", "invalid_request"),
        ("payload=%7Bnope", "application/x-www-form-urlencoded", "invalid_json"),
        (json.dumps({"username": "x"}), "application/json", "empty_message"),
    ],
)
def test_unreadable_payloads_get_400(hook, body, content_type, code):
    _room, _key, token = hook
    assert_error(Client().post(f"/hooks/{token}", body, content_type=content_type), 400, code)
    assert not Message.objects.exists()


def test_an_oversize_payload_gets_413(hook):
    _room, _key, token = hook
    assert_error(post_json(token, {"text": "x" * (BOT_REQUEST_MAX_BYTES + 1)}), 413, "request_too_large")


def test_get_is_405_and_other_paths_404_as_json(hook):
    _room, _key, token = hook
    assert_error(Client().get(f"/hooks/{token}"), 405, "method_not_allowed")
    assert_error(Client().post(f"/hooks/{token}/extra", "{}", content_type="application/json"), 404, "not_found")


def test_a_webhook_flood_gets_429_and_spares_the_api_token_of_another_bot(hook, long_budget_window):
    room, key, token = hook
    _ci, ci_token = create_bot_token(room, key, "CI")
    for number in range(BOT_POSTS_PER_WINDOW):
        assert post_json(token, {"text": f"alert {number}"}).status_code == 200
    flooded = post_json(token, {"text": "one more"})
    assert_error(flooded, 429, "rate_limited")
    assert int(flooded["Retry-After"]) >= 1
    assert post_json(ci_token, {"text": "build ok"}).status_code == 200


def test_the_webhook_token_stays_out_of_the_servers_log():
    from rooms.log_secrets import hide_secrets

    assert hide_secrets('"POST /hooks/s3cr3t-token HTTP/1.1" 200') == '"POST /hooks/[hidden] HTTP/1.1" 200'
