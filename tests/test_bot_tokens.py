"""The owner's bot-token frames: a token shown once and only to the owner's connection that made
it, the list every owner connection keeps, revocation, and refusals (non-owners, bad or taken
names, the cap)."""

import pytest
from channels.db import database_sync_to_async

from rooms.limits import BOT_TOKENS_MAX
from rooms.models import BotToken
from rooms.services.bots import authenticate, hash_bot_token
from tests.support.ws import joined, next_of, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


async def owner_and_member(open_socket, owned_room):
    room, _key, session = owned_room
    owner, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Ada", owner=True))
    member, _ = await joined(open_socket, room.code, await database_sync_to_async(session)("Bob"))
    return room, owner, member


async def test_the_owner_alone_gets_a_new_token_once_with_its_webhook_url(open_socket, owned_room):
    room, owner, member = await owner_and_member(open_socket, owned_room)
    await owner.send_json_to({"type": "bot_token", "name": " CI "})
    made, seen = await receive_until(owner, "bot_token")
    assert made["name"] == "CI" and len(made["token"]) >= 40
    assert made["webhook_url"] == f"http://127.0.0.1:8000/hooks/{made['token']}"
    listing = await next_of(owner, "bot_tokens")
    assert [each["name"] for each in listing["tokens"]] == ["CI"] and listing["tokens"][0]["created"]
    stored = await database_sync_to_async(BotToken.objects.get)(room=room)
    assert stored.token_hash == hash_bot_token(made["token"]) and made["token"] not in stored.token_hash
    found_room, bot = await database_sync_to_async(authenticate)(made["token"], room.code)
    assert found_room.pk == room.pk and bot.name == "CI"
    # The member is told nothing: neither the token nor the list.
    assert await member.receive_nothing(timeout=0.3)


async def test_a_reconnecting_owner_gets_the_list_without_tokens(open_socket, owned_room):
    room, owner, _member = await owner_and_member(open_socket, owned_room)
    await owner.send_json_to({"type": "bot_token", "name": "Grafana"})
    made, _ = await receive_until(owner, "bot_token")
    _room, _key, session = owned_room
    again = await open_socket(room.code, await database_sync_to_async(session)("Ada", owner=True))
    listing, seen = await receive_until(again, "bot_tokens")
    assert [each["name"] for each in listing["tokens"]] == ["Grafana"]
    assert made["token"] not in str(seen)


@pytest.mark.parametrize("frame", [{"type": "bot_token", "name": "CI"}, {"type": "bot_token_revoke", "name": "CI"}])
async def test_a_member_who_is_not_the_owner_is_forbidden(open_socket, owned_room, frame):
    room, _owner, member = await owner_and_member(open_socket, owned_room)
    await member.send_json_to(frame)
    error, seen = await receive_until(member, "error")
    assert error["code"] == "forbidden"
    assert not [each for each in seen if each["type"] in ("bot_token", "bot_tokens")]
    assert not await database_sync_to_async(BotToken.objects.filter(room=room).exists)()


async def test_names_are_checked_and_unique_in_the_room(open_socket, owned_room):
    _room, owner, _member = await owner_and_member(open_socket, owned_room)
    for name, code in [("", "invalid_name"), ("x" * 40, "invalid_name"), (5, "invalid_name")]:
        await owner.send_json_to({"type": "bot_token", "name": name})
        error, _ = await receive_until(owner, "error")
        assert error["code"] == code
    await owner.send_json_to({"type": "bot_token", "name": "CI"})
    await receive_until(owner, "bot_token")
    await owner.send_json_to({"type": "bot_token", "name": "ci"})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "bot_name_taken" and error["detail"]


async def test_tokens_per_room_are_capped(open_socket, owned_room, settings):
    settings.OWNER_RATE_BURST = 100
    settings.OWNER_RATE_PER_SECOND = 100
    _room, owner, _member = await owner_and_member(open_socket, owned_room)
    for number in range(BOT_TOKENS_MAX):
        await owner.send_json_to({"type": "bot_token", "name": f"bot {number}"})
        await receive_until(owner, "bot_token")
    await owner.send_json_to({"type": "bot_token", "name": "one too many"})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "too_many_bots"


async def test_revoking_a_token_refuses_it_and_updates_the_list(open_socket, owned_room):
    room, owner, _member = await owner_and_member(open_socket, owned_room)
    await owner.send_json_to({"type": "bot_token", "name": "CI"})
    made, _ = await receive_until(owner, "bot_token")
    await owner.send_json_to({"type": "bot_token_revoke", "name": "CI"})
    listing, _ = await receive_until(owner, "bot_tokens", tokens=[])
    assert listing["tokens"] == []
    with pytest.raises(Exception, match="unknown or was revoked"):
        await database_sync_to_async(authenticate)(made["token"], room.code)
    await owner.send_json_to({"type": "bot_token_revoke", "name": "CI"})
    error, _ = await receive_until(owner, "error")
    assert error["code"] == "bot_not_found"


def test_the_admin_shows_a_rooms_tokens_without_their_hash(admin_client, owned_room):
    from django.urls import reverse

    from rooms.services.bots import create_bot_token

    room, key, _session = owned_room
    bot, token = create_bot_token(room, key, "Grafana")
    page = admin_client.get(reverse("admin:rooms_room_change", args=[room.pk])).content.decode()
    assert "Bot tokens" in page and "Grafana" in page
    assert bot.token_hash not in page and token not in page
