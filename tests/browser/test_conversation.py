"""Replies, slash commands, pins and search in real browsers, as the people in the room see them."""

import re

from playwright.sync_api import expect

from tests.support.browser import wait_for_true


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
    alice.page.click("#confirm-ok")  # deleting asks first
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


def test_the_owner_pins_a_message_and_everyone_sees_the_pinned_bar(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    bob.send("the agenda is in the doc")
    message = alice.message("the agenda")
    message.hover()
    message.locator(".pin-message").click()
    for person in (alice, bob):
        bar = person.page.locator("#pinned")
        expect(bar.locator(".pinned-heading")).to_have_text("Pinned (1)")
        expect(bar.locator(".pinned-item")).to_have_text(re.compile(r"^Bob: the agenda is in the doc"))
    # Only the owner has pin actions.
    bob.message("the agenda").hover()
    expect(bob.message("the agenda").locator(".pin-message")).to_have_count(0)
    expect(bob.page.locator("#pinned .unpin")).to_have_count(0)
    # A newcomer's page asks for the pins.
    bob.page.reload()
    bob.wait_in_room()
    expect(bob.page.locator("#pinned .pinned-item")).to_have_count(1)
    alice.page.locator("#pinned .unpin").click()
    expect(bob.page.locator("#pinned")).to_be_hidden()


def test_search_highlights_the_words_and_jumps_to_a_result(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.send("Lunch at noon? <b>not bold</b>")
    alice.send("afternoon tea")
    bob.send("NOON works for lunch")
    expect(bob.messages).to_have_count(3)
    bob.page.fill("#search", "noon lun")
    bob.page.press("#search", "Enter")
    results = bob.page.locator("#search-results .search-result")
    expect(results).to_have_count(2)
    expect(bob.page.locator("#search-results .search-summary")).to_have_text("2 results for “noon lun”")
    expect(results.nth(0).locator("mark.search-hit")).to_have_text(["NOON", "lun"])
    expect(results.nth(1).locator("mark.search-hit")).to_have_text(["Lun", "noon"])
    # User text stays text: no element was made of it.
    expect(results.nth(1).locator("b")).to_have_count(0)
    expect(results.nth(1).locator(".search-result-body")).to_have_text("Lunch at noon? <b>not bold</b>")
    results.nth(1).locator(".search-open").click()
    expect(bob.message("Lunch at noon?")).to_be_focused()
    bob.page.fill("#search", "nothing-like-this")
    bob.page.press("#search", "Enter")
    expect(bob.page.locator("#search-results .search-summary")).to_have_text("No messages match “nothing-like-this”.")


def test_the_invite_popover_shows_the_qr_code_of_the_invite_link(people):
    (alice,) = people(1)
    code = alice.create_room("Alice")
    popover = alice.page.locator("#invite-qr")
    expect(popover).to_be_hidden()
    alice.page.click("#show-qr")
    expect(popover).to_be_visible()
    expect(popover.locator("h2")).to_have_text(f"Scan to join room {code}")
    expect(popover.locator(".invite-qr-link")).to_have_text(f"{alice.base_url}/rooms/{code}/")
    image = popover.locator("img")
    expect(image).to_have_attribute("alt", f"QR code of the invite link {alice.base_url}/rooms/{code}/")
    wait_for_true(alice.page, "document.querySelector('#invite-qr img').naturalWidth > 0")
    alice.page.keyboard.press("Escape")
    expect(popover).to_be_hidden()


def test_a_far_search_result_opens_its_page_and_the_gap_after_it_fills_in(people, start_server):
    server = start_server(HISTORY_LIMIT="5", MESSAGE_RATE_BURST="100", MESSAGE_RATE_PER_SECOND="100")
    alice, bob = people(2, server=server)
    code = alice.create_room("Alice")
    alice.send("the needle")
    for number in range(40):
        alice.send(f"hay {number}")
    expect(alice.messages).to_have_count(41)
    bob.join_room("Bob", code)
    expect(bob.messages).to_have_count(5)

    bob.page.fill("#search", "needle")
    bob.page.press("#search", "Enter")
    bob.page.locator("#search-results .search-open").click()
    expect(bob.message("the needle")).to_be_focused()
    # The needle and the 25 after it, then a gap before the 5 shown on joining.
    expect(bob.messages).to_have_count(31)
    fill = bob.page.locator("#messages li.gap .fill-gap")
    expect(fill).to_have_count(1)
    # Ten missing (hay 25 to 34): the page around the gap's end brings them at once.
    fill.click()
    expect(fill).to_have_count(0)
    expect(bob.messages).to_have_count(41)
    bodies = bob.messages.locator(".body").all_inner_texts()
    assert bodies == ["the needle", *[f"hay {number}" for number in range(40)]]


def test_an_image_uploads_with_a_preview_and_opens_in_a_lightbox(people, tmp_path):
    from PIL import Image

    path = tmp_path / "sunset.png"
    Image.new("RGB", (640, 480), (250, 120, 20)).save(path)
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.page.set_input_files("#image-picker", str(path))
    upload = alice.page.locator("#upload-tray .upload")
    expect(upload.locator(".upload-preview")).to_have_attribute("alt", "Preview of sunset.png")
    expect(upload.locator(".upload-note")).to_have_text("Ready")
    alice.send("look at this")
    expect(alice.page.locator("#upload-tray")).to_be_hidden()

    thumb = bob.message("look at this").locator(".attachment-thumb")
    expect(thumb).to_have_attribute("alt", "Image 1 from Alice")
    wait_for_true(bob.page, "document.querySelector('.attachment-thumb')?.naturalWidth === 320")
    bob.message("look at this").locator(".attachment").click()
    lightbox = bob.page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    wait_for_true(bob.page, "document.querySelector('#lightbox img').naturalWidth === 640")
    bob.page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # A file that is no image is refused in the tray, and nothing is sent with it.
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"<?php echo 1; ?>")
    alice.page.set_input_files("#image-picker", str(fake))
    expect(alice.page.locator("#upload-tray .upload.failed .upload-note")).to_have_text(
        "Only PNG, JPEG, GIF and WebP images can be sent."
    )
