"""Bots on the production path: two uvicorn processes sharing PostgreSQL and Redis. The owner makes
a token through one process; a script posts through the API of the other and through the webhook
of the first; members on both processes get every bot message live, once, with its bot mark."""

import asyncio
import json
import urllib.request

import pytest

from tests.support.servers import Visitor, compose_uvicorn_command, wait_until

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_json(url, payload, token=None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    with NO_PROXY.open(request, timeout=10) as response:
        return response.status, response.read().decode()


def bot_messages(client):
    return [frame for frame in client.frames if frame["type"] == "message" and frame.get("bot")]


async def test_bot_messages_reach_members_of_every_process(start_servers, clients):
    first, second = await asyncio.to_thread(start_servers, compose_uvicorn_command(), compose_uvicorn_command())
    ada, bob = Visitor("Ada"), Visitor("Bob")
    code = await asyncio.to_thread(ada.submit_home_form, first.url, create="")
    await asyncio.to_thread(bob.submit_home_form, second.url, code=code, join="")
    owner = await clients(ada, code, first)
    member = await clients(bob, code, second)
    await wait_until(lambda: owner.members and len(owner.members) == 2, 10, "both members listed")

    await owner.socket.send(json.dumps({"type": "bot_token", "name": "CI"}))
    await wait_until(lambda: any(f["type"] == "bot_token" for f in owner.frames), 10, "the new token")
    made = next(f for f in owner.frames if f["type"] == "bot_token")
    assert made["webhook_url"] == f"{first.url}/hooks/{made['token']}"
    assert not [f for f in member.frames if f["type"] in ("bot_token", "bot_tokens")]

    api = f"{second.url}/api/v1/rooms/{code}/messages"
    status, body = await asyncio.to_thread(post_json, api, {"body": "build 1 passed", "client_id": "b1"}, made["token"])
    assert status == 201, body
    status, body = await asyncio.to_thread(post_json, made["webhook_url"], {"text": "alert cleared"})
    assert (status, body) == (200, "ok")

    for client in (owner, member):
        await wait_until(lambda c=client: len(bot_messages(c)) == 2, 10, "both bot messages")
    await asyncio.sleep(0.5)  # room for a duplicate
    for client in (owner, member):
        assert [m["body"] for m in bot_messages(client)] == ["build 1 passed", "alert cleared"]
        assert all(m["name"] == "CI" for m in bot_messages(client))
