"""The main path in real browsers: create, join by code, chat live, refresh, leave."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.support.browser import LOCAL_TIMEZONE


def shown_time_matches_local(time_element):
    """The <time> text is the message's server timestamp in the browser's own timezone (HH:MM)."""
    stamp = time_element.get_attribute("datetime")
    expected = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(LOCAL_TIMEZONE))
    return time_element.inner_text().strip() == expected.strftime("%H:%M")


def test_create_join_and_chat_live(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    assert re.fullmatch(r"[A-Z0-9]{4,}", code)
    expect(alice.members).to_have_text(["Alice"])

    bob.join_room("Bob", code.lower())  # codes are matched case-insensitively
    assert bob.page.locator("#room-code").inner_text() == code
    expect(alice.system_notices.last).to_contain_text("Bob has entered the room")
    expect(alice.members).to_have_text(["Alice", "Bob"], ignore_case=False)
    expect(bob.members).to_have_text(["Alice", "Bob"])
    expect(alice.page.locator("#member-count")).to_have_text("2")

    alice.send("Hi Bob, welcome!")
    expect(bob.message("Hi Bob, welcome!")).to_have_count(1)
    expect(bob.message("Hi Bob, welcome!").locator(".author")).to_have_text("Alice")
    bob.send("Thanks Alice 👋")
    expect(alice.message("Thanks Alice 👋")).to_have_count(1)
    expect(alice.message("Thanks Alice 👋").locator(".author")).to_have_text("Bob")

    # Each side sees both messages once, in order, with a local-time timestamp; own ones marked.
    for person in (alice, bob):
        expect(person.messages.locator(".body")).to_have_text(["Hi Bob, welcome!", "Thanks Alice 👋"])
        for index in range(2):
            assert shown_time_matches_local(person.messages.nth(index).locator("time"))
    expect(alice.message("Hi Bob, welcome!")).to_have_class(re.compile(r"\bown\b"))
    expect(alice.message("Thanks Alice 👋")).not_to_have_class(re.compile(r"\bown\b"))
    expect(alice.page.locator("#messages li.pending")).to_have_count(0)
    # The composer is cleared after sending.
    expect(alice.page.locator("#message")).to_have_value("")


def test_refresh_keeps_history_and_members(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.send("first")
    bob.send("second")
    expect(alice.messages).to_have_count(2)

    bob.page.reload()
    bob.wait_in_room()
    expect(bob.messages.locator(".body")).to_have_text(["first", "second"])
    expect(bob.members).to_have_text(["Alice", "Bob"])
    assert bob.page.locator("#room-code").inner_text() == code
    # Alice keeps both messages, exactly once each, and Bob is still listed for her.
    expect(alice.messages.locator(".body")).to_have_text(["first", "second"])
    expect(alice.members).to_have_text(["Alice", "Bob"])


def test_only_member_refreshing_keeps_the_room(people):
    (alice,) = people(1)
    code = alice.create_room("Alice", title="Solo room")
    alice.send("note to self")
    expect(alice.messages).to_have_count(1)

    alice.page.reload()
    alice.wait_in_room()
    assert alice.page.locator("#room-code").inner_text() == code
    expect(alice.page.locator("#room-title")).to_have_text("Solo room")
    expect(alice.messages.locator(".body")).to_have_text(["note to self"])
    expect(alice.members).to_have_text(["Alice"])


def test_leave_returns_home_and_others_see_it(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    expect(alice.members).to_have_count(2)

    bob.page.click("#leave")
    bob.page.wait_for_url(bob.base_url + "/")
    expect(bob.page.locator("button[name=create]")).to_be_visible()
    # The leave notice comes from the closed socket, not a presence timeout: it arrives at once.
    expect(alice.system_notices.last).to_contain_text("Bob has left the room", timeout=1000)
    expect(alice.members).to_have_text(["Alice"])
    expect(alice.page.locator("#member-count")).to_have_text("1")


def test_second_room_messages_stay_in_their_room(people):
    alice, bob, carol = people(3)
    first = alice.create_room("Alice")
    bob.join_room("Bob", first)
    second = carol.create_room("Carol")
    assert second != first

    carol.send("only for the second room")
    alice.send("only for the first room")
    expect(bob.message("only for the first room")).to_have_count(1)
    expect(carol.message("only for the second room")).to_have_count(1)
    # The first room's pages have received a later message, so the other room's one would be there by now.
    bob.send("also first room")
    expect(alice.message("also first room")).to_have_count(1)
    for person in (alice, bob):
        expect(person.page.locator("#messages")).not_to_contain_text("second room")
        expect(person.members).to_have_text(["Alice", "Bob"])
    expect(carol.page.locator("#messages")).not_to_contain_text("first room")
    expect(carol.members).to_have_text(["Carol"])


def test_copied_invite_link_brings_a_new_person_in(people):
    (alice,) = people(1, permissions=["clipboard-read", "clipboard-write"])
    code = alice.create_room("Alice")
    alice.page.click("#copy-link")
    expect(alice.page.locator("#copy-link")).to_have_text("Link copied")
    link = alice.page.evaluate("() => navigator.clipboard.readText()")
    assert link == f"{alice.base_url}/rooms/{code}/"

    (bob,) = people(1)
    bob.page.goto(link)
    expect(bob.page.locator("input[name=name]")).to_be_visible()
    bob.page.fill("input[name=name]", "Bob")
    bob.page.click("button[type=submit]")
    assert bob.wait_in_room() == code
    expect(alice.members).to_have_text(["Alice", "Bob"])


def test_a_right_to_left_message_reads_from_the_right(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.send("שלום לכולם, hello")
    alice.send("hello, שלום")
    for person in (alice, bob):
        hebrew = person.message("שלום לכולם").locator(".body")
        latin = person.message("hello, שלום").locator(".body")
        expect(hebrew).to_have_attribute("dir", "auto")
        assert hebrew.evaluate("body => getComputedStyle(body).direction") == "rtl"
        assert latin.evaluate("body => getComputedStyle(body).direction") == "ltr"
