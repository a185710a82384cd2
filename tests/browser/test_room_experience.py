"""The room experience in real browsers: paging keeps the reader's place, the new-messages pill, the
unread count in the tab title, typing that expires, rename from the page, and own messages."""

import re

from playwright.sync_api import expect

from tests.support.browser import Person

SEEDED_MESSAGES = 70  # more than one history page (HISTORY_LIMIT is 50), fewer than two
RECONNECT_MS = 25000  # the page retries with capped, jittered backoff (at most 10 s between tries)
TYPING_EXPIRY_MS = 5000  # room_view.js forgets a typist this long after their last typing frame

# Seeded through the server's own database: 70 messages typed in a browser would meet the rate limit.
SEED = f"""
from rooms.services.messages import post_message
from rooms.services.rooms import create_room
room = create_room(title="Paging room")
for number in range({SEEDED_MESSAGES}):
    post_message(room, "Old timer", f"message {{number}}")
print(room.code)
"""

HIDE_PAGE = (
    "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
    "document.dispatchEvent(new Event('visibilitychange'))"
)
SHOW_PAGE = (
    "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
    "document.dispatchEvent(new Event('visibilitychange'))"
)


def seeded_room(server):
    """A new room on the server with SEEDED_MESSAGES old messages ("message 0" … "message 69")."""
    return server.run_python(SEED).strip()


def test_paging_keeps_the_place_and_new_messages_wait_below_a_pill(people, app_server):
    code = seeded_room(app_server)
    (reader,) = people(1, viewport={"width": 900, "height": 700})
    reader.enter_room("Reader", code)
    expect(reader.messages).to_have_count(50)
    assert reader.page.title() == f"Paging room · {code} – roomchat"
    expect(reader.page.locator("#load-earlier")).to_be_visible()

    # The oldest message shown before paging; after paging it is the same node, where it was.
    anchor = reader.messages.first.element_handle()
    assert anchor.query_selector(".body").text_content() == "message 20"
    place_before = anchor.evaluate("node => node.getBoundingClientRect().bottom")
    reader.page.click("#load-earlier")
    expect(reader.messages).to_have_count(SEEDED_MESSAGES)
    expect(reader.page.locator("#load-earlier")).to_be_hidden()  # the start of the room is reached
    expect(reader.messages.first.locator(".body")).to_have_text("message 0")
    assert anchor.evaluate("node => node === document.querySelectorAll('li.message')[20]")
    place_after = anchor.evaluate("node => node.getBoundingClientRect().bottom")
    assert abs(place_after - place_before) < 2  # what the reader was looking at did not move
    # Every message is there once, in order.
    expect(reader.messages.locator(".body")).to_have_text([f"message {n}" for n in range(SEEDED_MESSAGES)])

    # A reader scrolled up is not yanked down by a new message: a pill offers the way down.
    (writer,) = people(1)
    writer.enter_room("Writer", code)
    reader.page.evaluate("document.getElementById('messages').scrollTop = 0")
    writer.send("are you there?")
    expect(reader.message("are you there?")).to_have_count(1)
    expect(reader.page.locator("#new-messages")).to_be_visible()
    assert reader.page.evaluate("document.getElementById('messages').scrollTop") == 0
    reader.page.click("#new-messages")
    expect(reader.page.locator("#new-messages")).to_be_hidden()
    expect(reader.message("are you there?").locator(".body")).to_be_in_viewport()
    assert reader.page.evaluate("document.activeElement.id") == "message"

    # A reader at the bottom is kept at the bottom, without a pill.
    writer.send("second")
    expect(reader.page.locator("#messages li.message:last-child .body")).to_have_text("second")
    expect(reader.message("second").locator(".body")).to_be_in_viewport()
    expect(reader.page.locator("#new-messages")).to_be_hidden()


def test_history_paging_works_for_a_person_who_joined_later(people, app_server):
    """Paging also reaches messages written before the reader ever entered, and none come twice."""
    code = seeded_room(app_server)
    reader, talker = people(2)
    talker.enter_room("Talker", code)
    talker.send("newest")
    expect(talker.message("newest")).to_have_count(1)
    reader.enter_room("Reader", code)
    expect(reader.messages).to_have_count(50)
    expect(reader.messages.last.locator(".body")).to_have_text("newest")
    reader.page.click("#load-earlier")
    expect(reader.messages).to_have_count(SEEDED_MESSAGES + 1)
    expect(reader.messages.locator(".body")).to_have_text([f"message {n}" for n in range(SEEDED_MESSAGES)] + ["newest"])


def test_unread_count_shows_in_the_title_while_the_tab_is_hidden(people):
    ann, bob = people(2)
    code = ann.create_room("Ann")
    bob.join_room("Bob", code)
    base_title = ann.page.title()

    # Ann's tab goes to the background: Bob's messages are counted in her title until she is back.
    ann.page.evaluate(HIDE_PAGE)
    bob.send("one")
    bob.page.fill("#message", "two\nlines")
    bob.page.press("#message", "Enter")
    expect(ann.page).to_have_title(f"(2) {base_title}")
    ann.page.evaluate(SHOW_PAGE)
    expect(ann.page).to_have_title(base_title)
    # Line breaks survive (read as rendered: to_have_text would fold the newline into a space).
    assert ann.messages.last.locator(".body").inner_text() == "two\nlines"
    # A visible page counts nothing.
    expect(bob.page).to_have_title(base_title)


def test_typing_shows_to_the_others_and_expires(people):
    ann, bob = people(2)
    code = ann.create_room("Ann")
    bob.join_room("Bob", code)

    bob.page.locator("#message").press_sequentially("typing away")
    expect(ann.page.locator("#typing")).to_have_text("Bob is typing…")
    expect(bob.page.locator("#typing")).to_have_text("")  # nobody is told about their own typing
    # No further typing frames: the indicator goes away by itself.
    expect(ann.page.locator("#typing")).to_have_text("", timeout=TYPING_EXPIRY_MS * 2)

    # Typing again shows again; sending the message ends it at once for the others.
    bob.page.locator("#message").press_sequentially(" more")
    expect(ann.page.locator("#typing")).to_have_text("Bob is typing…")
    bob.page.press("#message", "Enter")
    expect(ann.message("typing away more")).to_have_count(1)
    # Read at once, not waited for: the message itself cleared it, not the expiry.
    assert ann.page.locator("#typing").text_content() == ""


def test_rename_from_the_page_reaches_everyone(people):
    ann, bob, cat = people(3)
    code = ann.create_room("Ann")
    bob.join_room("Bob", code)
    cat.join_room("Cat", code)
    expect(ann.members).to_have_text(["Ann", "Bob", "Cat"])

    # A bad name is refused in the form, which stays open with the typed value.
    bob.page.click("#rename-toggle")
    expect(bob.page.locator("#rename-name")).to_have_value("Bob")
    bob.page.fill("#rename-name", "x" * 40)
    bob.page.press("#rename-name", "Enter")
    expect(bob.page.locator("#rename-error")).to_be_visible()
    expect(bob.page.locator("#rename-error")).to_contain_text("at most 32 characters")
    expect(bob.page.locator("#rename-name")).to_have_value("x" * 40)
    expect(ann.members).to_have_text(["Ann", "Bob", "Cat"])

    bob.page.fill("#rename-name", "Robert")
    bob.page.press("#rename-name", "Enter")
    for person in (ann, bob, cat):
        expect(person.system_notices.last).to_have_text(re.compile(r"Bob is now Robert"))
        expect(person.members).to_have_text(["Ann", "Cat", "Robert"])
    expect(bob.page.locator("#rename-form")).to_be_hidden()

    # Messages after the rename carry the new name; a refreshed page keeps it.
    bob.send("renamed hello")
    expect(ann.message("renamed hello").locator(".author")).to_have_text("Robert")
    cat.page.reload()
    cat.wait_in_room()
    expect(cat.members).to_have_text(["Ann", "Cat", "Robert"])
    bob.page.reload()
    bob.wait_in_room()
    assert "Message as Robert" in bob.page.get_attribute("#message", "placeholder")
    expect(bob.members).to_have_text(["Ann", "Cat", "Robert"])


def test_own_messages_look_different_and_links_are_safe(people):
    (ann,) = people(1)
    (bob,) = people(1, color_scheme="dark")
    code = ann.create_room("Ann")
    bob.join_room("Bob", code)

    bob.send("see https://example.com/page.")
    link = ann.message("see https://example.com/page").locator(".body a")
    expect(link).to_have_attribute("href", "https://example.com/page")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_text("https://example.com/page")  # the full stop is not part of the link
    expect(bob.message("see https://example.com/page")).to_have_class(re.compile(r"\bown\b"))
    expect(ann.message("see https://example.com/page")).not_to_have_class(re.compile(r"\bown\b"))
    # The author's colour is the same on every page, whatever the page's theme.
    colour = "node => node.style.getPropertyValue('--name-light')"
    ann_colour = ann.message("see https://example.com/page").locator(".author").evaluate(colour)
    bob_colour = bob.message("see https://example.com/page").locator(".author").evaluate(colour)
    assert ann_colour and ann_colour == bob_colour


def test_rename_reaches_every_room_and_tab_of_the_person(people):
    """A name belongs to the session: renaming in one tab renames the person in their other rooms."""
    ann, cat = people(2)
    first = ann.create_room("Ann")
    second = cat.create_room("Cat")
    bob_first, *_ = people(1)
    bob_first.join_room("Bob", first)
    bob_second = Person(bob_first.context, bob_first.base_url)  # another tab, same session
    bob_second.goto(f"/rooms/{second}/")  # the session has a name already: no prompt
    bob_second.wait_in_room()
    expect(ann.members).to_have_text(["Ann", "Bob"])
    expect(cat.members).to_have_text(["Bob", "Cat"])

    bob_first.page.click("#rename-toggle")
    bob_first.page.fill("#rename-name", "Robert")
    bob_first.page.press("#rename-name", "Enter")
    for person, members in ((ann, ["Ann", "Robert"]), (cat, ["Cat", "Robert"])):
        expect(person.system_notices.last).to_have_text(re.compile(r"Bob is now Robert"))
        expect(person.members).to_have_text(members)
    # The other tab took the new name too: its next message is Robert's.
    expect(bob_second.members).to_have_text(["Cat", "Robert"])
    bob_second.send("from the other tab")
    expect(cat.message("from the other tab").locator(".author")).to_have_text("Robert")
    assert "Message as Robert" in bob_second.page.get_attribute("#message", "placeholder")
    assert bob_second.page_errors == []


def test_scrolling_to_the_top_loads_the_earlier_page_by_itself(people, app_server):
    code = seeded_room(app_server)
    (reader,) = people(1, viewport={"width": 900, "height": 700})
    reader.enter_room("Reader", code)
    expect(reader.messages).to_have_count(50)
    reader.page.evaluate("document.getElementById('messages').scrollTop = 0")
    expect(reader.messages).to_have_count(SEEDED_MESSAGES)
    expect(reader.page.locator("#load-earlier")).to_be_hidden()


def test_paging_still_works_after_the_server_restarts(people, own_server):
    """A reconnect's catch-up says nothing about the start of the room: the button stays, and works."""
    code = seeded_room(own_server)
    (reader,) = people(1, server=own_server)
    reader.enter_room("Reader", code)
    expect(reader.messages).to_have_count(50)
    own_server.kill()
    expect(reader.page.locator("#connection")).not_to_have_attribute("data-state", "connected")
    own_server.start()  # same port, same database
    expect(reader.page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=RECONNECT_MS)
    expect(reader.page.locator("#load-earlier")).to_be_visible()
    reader.page.click("#load-earlier")
    expect(reader.messages.locator(".body")).to_have_text([f"message {n}" for n in range(SEEDED_MESSAGES)])


def test_a_rename_refused_by_the_rate_limit_says_so_in_the_rename_form(people, start_server):
    # Renames share the message rate limit; a limit of one at a time makes the second one wait.
    server = start_server(MESSAGE_RATE_BURST="1", MESSAGE_RATE_PER_SECOND="0.05")
    (bob,) = people(1, server=server)
    bob.create_room("Bob")
    bob.page.click("#rename-toggle")
    bob.page.fill("#rename-name", "Robert")
    bob.page.press("#rename-name", "Enter")
    expect(bob.page.locator("#rename-form")).to_be_hidden()
    bob.page.click("#rename-toggle")
    bob.page.fill("#rename-name", "Bobby")
    bob.page.press("#rename-name", "Enter")
    expect(bob.page.locator("#rename-error")).to_contain_text("too fast")
    expect(bob.page.locator("#rename-name")).to_have_value("Bobby")
    expect(bob.page.locator("#composer-error")).to_be_hidden()
