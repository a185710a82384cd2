"""Replies, slash commands, pins and search in real browsers, as the people in the room see them."""

from playwright.sync_api import expect


def reply_to(person, body):
    message = person.message(body)
    message.hover()
    message.locator(".reply-message").click()


def test_a_reply_quotes_its_parent_and_the_quote_finds_it_in_earlier_pages(people, start_server):
    # Pages of 5: the parent of the last reply is two pages back for someone who joins later.
    server = start_server(HISTORY_LIMIT="5", MESSAGE_RATE_BURST="50")
    alice, bob = people(2, server=server)
    code = alice.create_room("Alice")
    alice.send("Lunch at noon?")
    for number in range(8):
        alice.send(f"filler {number}")
    expect(alice.messages).to_have_count(9)

    reply_to(alice, "Lunch at noon?")
    preview = alice.page.locator("#reply-preview")
    expect(preview.locator(".reply-preview-text")).to_have_text("Replying to Alice: Lunch at noon?")
    alice.page.press("#message", "Escape")
    expect(preview).to_have_count(0)
    reply_to(alice, "Lunch at noon?")
    alice.send("or one o'clock")
    expect(preview).to_have_count(0)
    reply = alice.message("one o'clock")
    expect(reply.locator(".reply-quote")).to_have_text("Alice Lunch at noon?")

    bob.join_room("Bob", code)
    expect(bob.messages).to_have_count(5)
    expect(bob.message("Lunch at noon?")).to_have_count(0)
    bob.message("one o'clock").locator(".reply-quote").click()
    parent = bob.message("Lunch at noon?")
    expect(parent).to_be_in_viewport()
    expect(parent).to_be_focused()

    # The parent deleted: the quote says so, live.
    first = alice.message("Lunch at noon?")
    first.hover()
    first.locator(".delete-message").click()
    expect(bob.message("one o'clock").locator(".reply-quote")).to_have_text("Alice message deleted")


def test_slash_commands_complete_and_act_for_everyone(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    box = alice.page.locator("#message")
    box.fill("/")
    options = alice.page.locator("#command-list [role=option]")
    expect(options.locator(".command-name")).to_have_text(["/me ACTION", "/shrug [TEXT]", "/nick NAME"])
    box.press_sequentially("s")
    expect(options).to_have_count(1)
    box.press("Enter")
    expect(box).to_have_value("/shrug ")
    expect(alice.page.locator("#command-list")).to_be_hidden()
    box.press_sequentially("no idea")
    box.press("Enter")
    expect(bob.message("no idea").locator(".body")).to_have_text("no idea ¯\\_(ツ)_/¯")

    alice.send("/me waves")
    expect(bob.message("waves").locator(".body")).to_have_text("* Alice waves")
    alice.send("//shrug is a command")
    expect(bob.message("is a command").locator(".body")).to_have_text("/shrug is a command")

    alice.send("/shout hello")
    expect(alice.page.locator("#composer-error")).to_contain_text("Unknown command /shout")
    expect(box).to_have_value("/shout hello")

    alice.send("/nick Ally")
    expect(bob.members).to_contain_text(["Ally"])
    expect(alice.page.locator("#messages li.pending")).to_have_count(0)
    expect(alice.page.locator("#message")).to_have_attribute("placeholder", "Message as Ally")
