"""Hostile text in messages, names and room titles is shown literally and never runs.

Each payload would set a `window` flag (or open a dialog) if the page ever parsed it as HTML or
followed it as a link; the tests check the flags stay unset and the text is shown as typed.
"""

from playwright.sync_api import expect

# Names are at most 32 characters, so every payload fits a name too.
PAYLOADS = [
    "<img src=x onerror=__pwned=1>",
    "<script>__pwned=2</script>",
    '"><svg onload=__pwned=3>',
    "<a href=javascript:__pwned=4>",
    "javascript:__pwned=5",
    "</textarea><b onclick=__pwned=6>",
    '\'"><iframe srcdoc="<p>">',
    "Bob\u202eevil\u202c \u200bzero\u200dwidth",
    "Eve\u202etxet desrever",  # an unclosed right-to-left override
]


def pwned(person):
    return person.page.evaluate(
        "() => [window.__pwned, document.querySelectorAll('#messages img, #messages svg:not(.avatar), "
        "#messages script, #messages iframe, #members img, #members svg:not(.avatar)').length]"
    )


# Unicode isolates (LRI, RLI, FSI, PDI) the page may wrap around a name so its bidi controls stay inside it.
ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))

# Where the words of a notice are drawn: in a left-to-right notice "has" is left of "room". A name
# with an unclosed right-to-left override must not reverse the words that follow it.
WORD_POSITIONS = """notice => {
    const walker = document.createTreeWalker(notice.querySelector(".system-text"), NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    const left = word => {
        const text = texts.filter(node => node.textContent.includes(word)).pop();
        const range = document.createRange();
        const start = text.textContent.lastIndexOf(word);
        range.setStart(text, start);
        range.setEnd(text, start + word.length);
        return range.getBoundingClientRect().left;
    };
    return [left("has"), left("room")];
}"""


def assert_nothing_ran(*persons):
    for person in persons:
        assert pwned(person) == [None, 0], f"a payload was parsed as HTML for {person}"
        assert person.dialogs == []


def test_hostile_messages_are_literal_text(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    for payload in PAYLOADS:
        alice.send(payload)
    expect(bob.messages).to_have_count(len(PAYLOADS))
    for person in (alice, bob):
        bodies = person.messages.locator(".body")
        expect(bodies).to_have_count(len(PAYLOADS))
        # textContent, not innerText: the bidi and zero-width characters must survive untouched.
        assert bodies.evaluate_all("nodes => nodes.map(n => n.textContent)") == PAYLOADS
    # Clicking what looks like a link does nothing either: it is text, not an anchor.
    bob.message("javascript:__pwned=5").locator(".body").click()
    assert bob.page.locator("#messages a").count() == 0
    # After a reload (history rendered from the server) the same holds.
    bob.page.reload()
    bob.wait_in_room()
    expect(bob.messages).to_have_count(len(PAYLOADS))
    assert bob.messages.locator(".body").evaluate_all("nodes => nodes.map(n => n.textContent)") == PAYLOADS
    assert_nothing_ran(alice, bob)


def test_hostile_names_are_literal_text(people):
    """One person rejoins under each hostile name; the other sees it in notices, members and authors."""
    alice, mallory = people(2)
    code = alice.create_room("Alice")
    expect(alice.system_notices).to_have_count(1)  # her own arrival, before anyone else's
    for index, payload in enumerate(PAYLOADS):
        mallory.join_room(payload, code)
        name = payload.strip()
        # Alice's own join notice plus one per rejoin so far: wait for this rejoin's notice.
        expect(alice.system_notices.filter(has_text="has entered the room")).to_have_count(index + 2)
        notice = alice.system_notices.last
        assert notice.locator(".system-text").text_content().translate(ISOLATES) == f"{name} has entered the room"
        has_left, room_left = notice.evaluate(WORD_POSITIONS)
        assert has_left < room_left, f"the name {name!r} reversed the notice text around it"
        expect(alice.members).to_have_count(2)
        assert sorted(alice.members.evaluate_all("nodes => nodes.map(n => n.textContent)")) == sorted(["Alice", name])
        mallory.send(f"hello {index}")
        author = alice.message(f"hello {index}").locator(".author")
        expect(author).to_have_count(1)
        assert author.text_content() == name
        mallory.page.click("#leave")
        mallory.page.wait_for_url(mallory.base_url + "/")
        expect(alice.members).to_have_count(1)
        assert_nothing_ran(alice, mallory)


def test_hostile_room_titles_are_literal_text(people):
    alice, bob = people(2)
    for payload in PAYLOADS:
        code = alice.create_room("Alice", title=payload)
        title = payload.strip()
        assert alice.page.locator("#room-title").text_content() == title
        assert title in alice.page.title()
        # The shared link's name prompt shows the title too.
        bob.goto(f"/rooms/{code}/")
        assert bob.page.locator(".lead").text_content() == title
        assert_nothing_ran(alice, bob)


def test_hostile_name_in_join_and_leave_notices(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    name = '"><svg onload=__pwned=7>'
    bob.join_room(name, code)
    expect(alice.system_notices.last).to_contain_text(f"{name} has entered the room")
    bob.page.click("#leave")
    expect(alice.system_notices.last).to_contain_text(f"{name} has left the room")
    assert alice.page.locator("#messages svg").count() == 0
    assert_nothing_ran(alice, bob)


def test_hostile_names_through_rename_and_typing_are_literal_text(people, start_server):
    """One person renames to each hostile name in turn; the other sees the rename notices, the member
    list, the typing indicator and the author as typed."""
    # A rename and a message per payload is more than the default burst allows; this test is about
    # escaping, not the rate limit (tests/browser/test_send_failures.py covers that).
    server = start_server(MESSAGE_RATE_BURST="100")
    alice, mallory = people(2, server=server)
    code = alice.create_room("Alice")
    mallory.join_room("Mallory", code)
    expect(alice.system_notices.last).to_contain_text("Mallory has entered the room")
    old = "Mallory"
    for index, payload in enumerate(PAYLOADS):
        name = payload.strip()
        notices_before = alice.system_notices.count()
        mallory.page.click("#rename-toggle")
        mallory.page.fill("#rename-name", payload)
        mallory.page.press("#rename-name", "Enter")
        expect(alice.system_notices).to_have_count(notices_before + 1)
        notice_text = alice.system_notices.last.locator(".system-text").text_content().translate(ISOLATES)
        assert notice_text == f"{old} is now {name}"
        expect(mallory.page.locator("#rename-form")).to_be_hidden()
        assert sorted(alice.members.evaluate_all("nodes => nodes.map(n => n.textContent)")) == sorted(["Alice", name])
        mallory.page.locator("#message").press_sequentially(f"hi {index}")
        expect(alice.page.locator("#typing")).not_to_have_text("")
        assert alice.page.locator("#typing").text_content().translate(ISOLATES) == f"{name} is typing…"
        mallory.page.press("#message", "Enter")
        author = alice.message(f"hi {index}").locator(".author")
        expect(author).to_have_count(1)
        assert author.text_content() == name
        assert_nothing_ran(alice, mallory)
        old = name
