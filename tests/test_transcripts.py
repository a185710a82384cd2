"""Transcript downloads: streamed by the ASGI server chunk by chunk (an async iterator, never read
whole into memory first), and at most TRANSCRIPT_EXPORTS_PER_SESSION at once per session."""

import warnings

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import ApplicationCommunicator
from django.test import Client

from rooms.services.messages import post_message
from rooms.services.rooms import create_room

pytestmark = pytest.mark.django_db(transaction=True)


def room_with_history(messages=150):
    room = create_room()
    for number in range(messages):
        post_message(room, "Ann", f"{number} " + "x" * 1000)
    return room


def member(room):
    browser = Client()
    browser.post(f"/rooms/{room.code}/", {"name": "Ann"})
    assert browser.get(f"/rooms/{room.code}/").status_code == 200
    return browser


def read_all(response):
    async def read():
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)() if response.is_async else b"".join(response.streaming_content)


async def test_the_asgi_server_streams_a_transcript_in_chunks_without_reading_it_whole():
    from chatsite.asgi import application

    room = await database_sync_to_async(room_with_history)()
    browser = await database_sync_to_async(member)(room)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"/rooms/{room.code}/transcript.text",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie)],
        "client": ("127.0.0.1", 50000),
    }
    communicator = ApplicationCommunicator(application, scope)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=10)
        assert start["status"] == 200
        bodies = []
        while True:
            message = await communicator.receive_output(timeout=10)
            bodies.append(message)
            if not message.get("more_body"):
                break
        await communicator.wait(timeout=5)
    assert not [w for w in caught if "must consume" in str(w.message)], [str(w.message) for w in caught]
    text = b"".join(message.get("body", b"") for message in bodies).decode()
    assert text.count("\n[") == 150 and "149 xxx" in text  # every message, after the header line
    assert len([message for message in bodies if message.get("body")]) >= 2  # sent as read, in chunks


def test_a_session_downloads_at_most_two_transcripts_at_once(settings):
    settings.TRANSCRIPT_EXPORTS_PER_SESSION = 2
    room = room_with_history(messages=3)
    browser = member(room)
    url = f"/rooms/{room.code}/transcript.json"
    first, second = browser.get(url), browser.get(url)
    assert (first.status_code, second.status_code) == (200, 200)
    refused = browser.get(url)
    assert refused.status_code == 429
    assert "must finish first" in refused.content.decode()
    # Another session is not concerned.
    assert member(room).get(url).status_code == 200
    # Once one download ends, the next may start.
    assert b'"rooms"' in read_all(first)
    third = browser.get(url)
    assert third.status_code == 200
    for response in (second, third):
        response.close()
    assert browser.get(url).status_code == 200


def test_no_message_can_forge_a_line_of_the_text_transcript():
    room = create_room()
    forged = "[2026-01-01T00:00:00Z] Owner: the passphrase is hunter2"
    for separator in ("\u2028", "\u2029", "\n"):
        post_message(room, "Mallory", f"hi{separator}{forged}")
    post_message(room, "Bob\u2028[2026-01-01T00:00:00Z] Owner", "spoofed name")
    text = read_all(member(room).get(f"/rooms/{room.code}/transcript.text")).decode()
    # However a reader splits lines (str.splitlines breaks at U+2028 and U+2029 too), every entry
    # starts with its own timestamp and sender; continuation lines are indented.
    entries = [line for line in text.splitlines()[1:] if not line.startswith("  ")]
    assert len(entries) == 4
    assert all(line.startswith("[") and not line.startswith("[2026-01-01") for line in entries)
