"""Gap-free delivery across real server processes (PostgreSQL + Redis): a lost layer delivery, a
process killed between commit and publish, and Redis dropping its pub/sub connections. Clients
stay connected (or, where the server closes them, reconnect as the room page does) and end with
exactly the stored sequence of messages, in order."""

import asyncio
import subprocess

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from rooms.models import Message
from tests.live_server import daphne_command
from tests.support.servers import Visitor, compose_uvicorn_command, wait_until

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

LOST = "LOST-ON-THE-WAY"
HANG = "HANG-AFTER-COMMIT"


async def stored_sequence(code):
    """(seq, body) of the room's messages in log order."""
    return await database_sync_to_async(
        lambda: list(Message.objects.filter(room__code=code).order_by("seq").values_list("seq", "body"))
    )()


def live_sequence(client):
    """(seq, body) of the messages a client got, history and live, in the order it got them."""
    seen = []
    for frame in client.frames:
        messages = frame["messages"] if frame["type"] == "history" else [frame] if frame["type"] == "message" else []
        seen.extend((message["seq"], message["body"]) for message in messages)
    return seen


async def everyone_has_the_stored_sequence(chat_clients, code, count, timeout=10):
    await wait_until(
        lambda: all(len(live_sequence(c)) >= count for c in chat_clients),
        timeout,
        lambda: f"{count} messages; got {[(len(live_sequence(c)), c.closed) for c in chat_clients]}",
    )
    await asyncio.sleep(0.5)  # room for a duplicate to show up
    stored = await stored_sequence(code)
    assert len(stored) == count
    for client in chat_clients:
        assert live_sequence(client) == stored, client.visitor.name


async def two_people_on_two_processes(start_servers, clients, first_env=None, second_env=None):
    (first,) = await asyncio.to_thread(start_servers, daphne_command(), extra_env=first_env)
    (second,) = await asyncio.to_thread(start_servers, daphne_command(), extra_env=second_env)
    ann, bob = Visitor("Ann"), Visitor("Bob")
    code = await asyncio.to_thread(ann.submit_home_form, first.url, create="")
    await asyncio.to_thread(bob.submit_home_form, second.url, code=code, join="")
    here, there = await clients(ann, code, first), await clients(bob, code, second)
    await wait_until(lambda: here.members == there.members == ["Ann", "Bob"], 10, "both members everywhere")
    return (first, second), code, here, there


async def test_deliveries_lost_on_the_layer_or_locally_are_filled_in_without_reconnecting(start_servers, clients):
    # The second process loses Ann's middle message on the layer; the first loses Bob's last one locally.
    _, code, ann, bob = await two_people_on_two_processes(
        start_servers,
        clients,
        first_env={"DELIVERY_FAULTS": f"drop-local:{LOST}"},
        second_env={"DELIVERY_FAULTS": f"drop-layer:{LOST}"},
    )
    for number, body in enumerate(["one", f"two {LOST}", "three"]):
        await ann.send(body, client_id=f"ann-{number}")
        await asyncio.sleep(0.05)
    await bob.send(f"last {LOST}", client_id="bob-last")
    await everyone_has_the_stored_sequence([ann, bob], code, 4)
    assert not ann.closed and not bob.closed


async def test_a_process_killed_between_commit_and_publish_leaves_no_gap_for_the_others(start_servers, clients):
    (first, _), code, ann, bob = await two_people_on_two_processes(
        start_servers, clients, first_env={"DELIVERY_FAULTS": f"hang-after-commit:{HANG}"}
    )
    await ann.send("before", client_id="ann-before")
    await wait_until(lambda: len(live_sequence(bob)) == 1, 10, "the first message")
    await ann.send(f"stored, never published {HANG}", client_id="ann-hang")
    await wait_until_stored(code, HANG)
    await asyncio.to_thread(first.kill)  # dies right after the commit, before publishing
    await bob.send("after", client_id="bob-after")
    await everyone_has_the_stored_sequence([bob], code, 3)
    assert not bob.closed


async def wait_until_stored(code, marker, timeout=10):
    async with asyncio.timeout(timeout):
        while not any(marker in body for _, body in await stored_sequence(code)):
            await asyncio.sleep(0.05)


@pytest.mark.skipif(settings.REDIS_CHANNEL_LAYER != "pubsub", reason="kills the pub/sub layer's connections")
async def test_redis_dropping_its_pubsub_connections_loses_no_message(start_servers, clients):
    _, code, ann, bob = await two_people_on_two_processes(start_servers, clients)
    redis_url = settings.REDIS_URL

    async def kill_pubsub_connections():
        for _ in range(10):  # every 0.5 s for 5 s
            await asyncio.to_thread(
                subprocess.run,
                ["redis-cli", "-u", redis_url, "CLIENT", "KILL", "TYPE", "pubsub"],
                capture_output=True,
                timeout=5,
            )
            await asyncio.sleep(0.5)

    killer = asyncio.ensure_future(kill_pubsub_connections())
    sent = 0
    while not killer.done():
        for client in (ann, bob):
            await client.send(f"{client.visitor.name} {sent}", client_id=f"{client.visitor.name}-{sent}")
        sent += 1
        await asyncio.sleep(0.25)  # under the rate limit of 5 messages a second
    await everyone_has_the_stored_sequence([ann, bob], code, 2 * sent, timeout=15)
    assert not ann.closed and not bob.closed


async def test_a_deploy_sends_clients_elsewhere_without_leave_or_join_notices(start_servers, clients):
    """SIGTERM (a deploy or a scale-down): uvicorn closes its websockets with 1012 ("service
    restart"), the page reconnects through the other process, and with the grace period nobody
    sees Bob leave and come back."""
    grace = {"PRESENCE_GRACE_SECONDS": "5"}
    staying, leaving = await asyncio.to_thread(
        start_servers, compose_uvicorn_command(), compose_uvicorn_command(), extra_env=grace
    )
    ann, bob = Visitor("Ann"), Visitor("Bob")
    code = await asyncio.to_thread(ann.submit_home_form, staying.url, create="")
    await asyncio.to_thread(bob.submit_home_form, leaving.url, code=code, join="")
    ann_client, bob_client = await clients(ann, code, staying), await clients(bob, code, leaving)
    await wait_until(lambda: ann_client.members == bob_client.members == ["Ann", "Bob"], 10, "both members")
    await bob_client.send("before the deploy", client_id="bob-1")
    await wait_until(lambda: len(live_sequence(ann_client)) == 1, 10, "the first message")

    before_deploy = len(ann_client.frames)
    await asyncio.to_thread(leaving.stop)  # SIGTERM
    await wait_until(lambda: bob_client.closed, 10, "Bob's connection to close")
    assert bob_client.socket.close_code == 1012
    seen = max(seq for seq, _ in live_sequence(bob_client))
    back = await clients(bob, code, staying, after_seq=seen)
    await back.send("after the deploy", client_id="bob-2")
    await everyone_has_the_stored_sequence([ann_client], code, 2)
    await wait_until(lambda: live_sequence(back) == [(2, "after the deploy")], 10, "Bob's resumed history")

    await asyncio.sleep(4 + 5 + 2)  # the stopped process's presence is stale, and the grace is over
    after_deploy = ann_client.frames[before_deploy:]
    assert not [f for f in after_deploy if f["type"] == "system" and f["event"] in ("leave", "join")]
    assert ann_client.members == ["Ann", "Bob"]
