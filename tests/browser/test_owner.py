"""Owner controls in real browsers: kicking a member, joining with a passphrase."""

import re

from playwright.sync_api import expect


def test_owner_kicks_a_member(people):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    expect(ada.page.locator("#owner-badge")).to_be_visible()
    bob.join_room("Bob", code)
    expect(bob.page.locator("#owner-badge")).to_be_hidden()
    expect(bob.page.locator("#room-menu-button")).to_be_hidden()

    ada.page.click("#room-menu-button")
    expect(ada.page.locator("#member-target option")).to_have_text(["Bob"])
    ada.page.click("#kick-member")
    # Kicking asks first.
    expect(ada.page.locator("#confirm-text")).to_have_text(
        "Remove Bob from the room? They cannot come back for 10 minutes."
    )
    ada.page.click("#confirm-ok")

    # The kick notice, then (in either order with it) the leave of the closed connection.
    expect(ada.system_notices.filter(has_text="Bob was removed by Ada")).to_have_count(1)
    # Bob's page says what happened, in full, with the way home: no room, no composer.
    expect(bob.page.get_by_role("heading", name="You were removed from this room")).to_be_visible()
    expect(bob.page.locator("#room-ended-detail")).to_have_text("The owner removed you from this room.")
    expect(bob.page.locator("#message")).to_be_hidden()
    expect(bob.page.locator("#members")).to_be_hidden()
    expect(bob.page.get_by_role("link", name="Back to the home page")).to_be_visible()
    expect(ada.members).to_have_text(["Ada"])
    # Coming back by reloading is refused too: the room page sends him home, saying why.
    bob.page.reload()
    expect(bob.page).to_have_url(re.compile(r"/$"))
    expect(bob.page.get_by_role("alert")).to_have_text("The owner removed you from this room.")
    expect(ada.members).to_have_text(["Ada"])


def test_join_with_passphrase(people):
    ada, bob = people(2)
    ada.fill_home(name="Ada")
    ada.page.fill("input[name=passphrase]", "blue door")
    ada.page.click("button[name=create]")
    code = ada.wait_in_room()

    bob.fill_home(name="Bob", code=code)
    bob.page.click("button[name=join]")
    expect(bob.page.get_by_text("This room needs a passphrase.")).to_be_visible()
    bob.page.fill("input[name=passphrase]", "red door")
    bob.page.click("#passphrase-submit")
    expect(bob.page.get_by_text("That passphrase is not right.")).to_be_visible()
    bob.page.fill("input[name=passphrase]", "blue door")
    bob.page.click("#passphrase-submit")
    bob.page.wait_for_url(re.compile(rf"/rooms/{code}/$"))
    bob.wait_in_room()
    expect(ada.members).to_have_text(["Ada", "Bob"])
    bob.send("I got in")
    expect(ada.message("I got in")).to_have_count(1)


def test_watch_link_reads_along_and_revoking_disconnects(people):
    ada, bob, watcher = people(3)
    code = ada.create_room("Ada")
    bob.join_room("Bob", code)
    ada.send("said before anyone watched")

    ada.page.click("#room-menu-button")
    expect(ada.page.locator("#watch-link")).to_be_hidden()
    ada.page.click("#create-watch-link")
    link = ada.page.locator("#watch-link")
    expect(link).to_have_value(re.compile(rf"/rooms/{code}/watch/[\w-]+/$"))
    expect(bob.system_notices.filter(has_text="Ada shared a read-only watch link")).to_have_count(1)

    # No name, no form: the link opens the room read-only.
    watcher.page.goto(link.input_value())
    expect(watcher.page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(watcher.message("said before anyone watched")).to_have_count(1)
    expect(watcher.page.locator("#read-only-note")).to_be_visible()
    expect(watcher.page.locator("#message")).to_have_count(0)
    expect(watcher.page.locator(".message-actions")).to_have_count(0)
    expect(watcher.members).to_have_text(["Ada", "Bob"])
    for person in (ada, bob, watcher):
        expect(person.page.locator("#watcher-count")).to_have_text("1 person watching (read-only)")
    expect(ada.members).to_have_text(["Ada", "Bob"])  # counted, not listed

    bob.send("live, while watched")
    expect(watcher.message("live, while watched")).to_have_count(1)

    # The owner's page keeps showing the link after a reload.
    shown = link.input_value()
    ada.page.reload()
    ada.wait_in_room()
    ada.page.click("#room-menu-button")
    expect(ada.page.locator("#watch-link")).to_have_value(shown)

    ada.page.click("#revoke-watch-link")
    expect(watcher.page.get_by_role("heading", name="This watch link has ended")).to_be_visible()
    expect(watcher.page.locator("#room-ended-detail")).to_have_text("The owner ended this watch link.")
    expect(bob.page.locator("#watcher-count")).to_be_hidden()
    expect(ada.page.locator("#watch-link")).to_be_hidden()
    watcher.page.reload()
    expect(watcher.page.get_by_text("That watch link is not valid (any more).")).to_be_visible()
