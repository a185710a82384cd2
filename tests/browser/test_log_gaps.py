"""Frames lost between the server and the page: the page sees the hole in the log positions of its
live frames and asks for what it missed with a `sync` frame, without reloading.

The server runs with DELIVERY_FAULTS=drop-client:MARKER (rooms/realtime/faults.py): it never sends a
live frame containing MARKER to any page, so only the page's own gap check can bring it back.
"""

import json

import pytest
from playwright.sync_api import expect

from tests.live_server import LiveServer

MARKER = "LOST-ON-THE-WAY"
RECONNECT_MS = 25000  # the page's backoff is at most 10 s between tries


@pytest.fixture(scope="module")
def lossy_server(tmp_path_factory):
    """A server of this module's own that drops every live frame containing MARKER."""
    server = LiveServer(
        tmp_path_factory.mktemp("log-gaps") / "db.sqlite3", extra_env={"DELIVERY_FAULTS": f"drop-client:{MARKER}"}
    )
    server.start()
    yield server
    server.stop()


class Wire:
    """The frames a page's websockets sent and received, in order, and the URLs they connected to."""

    def __init__(self, page):
        self.events = []
        self.urls = []
        page.on("websocket", self._opened)

    def _opened(self, websocket):
        self.urls.append(websocket.url)
        websocket.on("framesent", lambda payload: self.events.append(("sent", json.loads(payload))))
        websocket.on("framereceived", lambda payload: self.events.append(("received", json.loads(payload))))

    def sent(self, frame_type):
        return [frame for way, frame in self.events if way == "sent" and frame["type"] == frame_type]

    def first(self, way, matches):
        return next(index for index, (w, frame) in enumerate(self.events) if w == way and matches(frame))


def in_room(people, lossy_server):
    alice, bob = people(2, server=lossy_server)
    wires = [Wire(alice.page), Wire(bob.page)]
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    for person in (alice, bob):
        person.page.evaluate("window.notReloaded = true")
    return alice, bob, wires


def test_a_message_lost_on_the_way_to_the_pages_is_fetched_with_sync(people, lossy_server):
    alice, bob, wires = in_room(people, lossy_server)
    alice.send("first")
    expect(bob.message("first")).to_have_count(1)
    alice.send(f"second {MARKER}")
    alice.send("third")

    for person in (alice, bob):
        expect(person.messages.locator(".body")).to_have_text(["first", f"second {MARKER}", "third"])
    expect(alice.page.locator("#messages li.pending")).to_have_count(0)  # the sender's echo came too
    for person, wire in zip((alice, bob), wires, strict=True):
        assert person.page.evaluate("window.notReloaded") is True
        # One sync, from the last position seen without a hole ("first" is at 1); the lost message
        # reached the page only in its answer.
        assert wire.sent("sync") == [{"type": "sync", "after_seq": 1}]
        asked = wire.first("sent", lambda frame: frame["type"] == "sync")
        lost = wire.first("received", lambda frame: MARKER in frame.get("body", ""))
        assert asked < lost
        assert any(way == "received" and frame["type"] == "synced" for way, frame in wire.events)
        assert wire.urls[0].endswith(f"/ws/rooms/{alice.page.locator('#room-code').inner_text()}/")  # fresh
    assert bob.page.locator("#messages").get_by_text(f"second {MARKER}").count() == 1  # shown once


def test_a_lost_edit_is_fetched_when_the_next_event_shows_the_hole(people, lossy_server):
    alice, bob, wires = in_room(people, lossy_server)
    alice.send("helo")
    expect(bob.message("helo")).to_have_count(1)
    message = alice.message("helo")
    message.hover()
    message.locator(".edit-message").click()
    message.locator(".edit-body").fill(f"hello {MARKER}")
    message.locator(".save-edit").click()
    alice.send("after the edit")

    for person in (alice, bob):
        expect(person.messages.locator(".body")).to_have_text([f"hello {MARKER}", "after the edit"])
        expect(person.messages.nth(0).locator(".edited")).to_have_text("(edited)")
    for person, wire in zip((alice, bob), wires, strict=True):
        assert person.page.evaluate("window.notReloaded") is True
        assert wire.sent("sync") == [{"type": "sync", "after_seq": 1}]


def test_a_reconnect_resumes_after_the_log_position(people, lossy_server):
    alice, bob, wires = in_room(people, lossy_server)
    code = alice.page.locator("#room-code").inner_text()
    for body in ("one", f"two {MARKER}", "three"):
        alice.send(body)
    for person in (alice, bob):
        expect(person.messages.locator(".body")).to_have_text(["one", f"two {MARKER}", "three"])

    lossy_server.kill()  # a crash: the pages reconnect by themselves
    for person in (alice, bob):
        expect(person.page.locator("#connection")).not_to_have_attribute("data-state", "connected")
    lossy_server.start()  # same port, same database
    for person in (alice, bob):
        expect(person.page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=RECONNECT_MS)
    # Every event up to 3 was seen (the lost one through sync): the reconnect resumes after it.
    assert wires[1].urls[0].endswith(f"/ws/rooms/{code}/")
    assert wires[1].urls[-1].endswith(f"/ws/rooms/{code}/?after_seq=3")
    bob.send("back again")
    for person in (alice, bob):
        expect(person.messages.locator(".body")).to_have_text(["one", f"two {MARKER}", "three", "back again"])
        assert person.page.evaluate("window.notReloaded") is True
