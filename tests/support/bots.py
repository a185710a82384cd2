"""Bots in tests: a room with a bot token, and the JSON error every bot endpoint answers with."""

from rooms.services.bots import create_bot_token
from rooms.services.moderation import new_owner_key
from rooms.services.rooms import create_room


def room_with_bot(name):
    """A new room with an owner key and one bot token `name`: (room, owner key, token)."""
    room = create_room()
    key = new_owner_key(room)
    _bot, token = create_bot_token(room, key, name)
    return room, key, token


def assert_error(response, status, code):
    """A JSON error `{"error": code, "detail": …}` with `status`; returns its payload."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    payload = response.json()
    assert payload["error"] == code and payload["detail"]
    return payload
