"""What a screen reader is told: new live messages once, never the history or an earlier page; the
watch page's messages reachable by keyboard."""

import re

from playwright.sync_api import expect


def test_only_new_live_messages_are_read_out(people):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    ada.send("said before Bob came")
    expect(ada.messages).to_have_count(1)
    bob.join_room("Bob", code)
    expect(bob.messages).to_have_count(1)
    expect(bob.page.locator("#messages")).not_to_have_attribute("aria-live", re.compile("."))
    announcer = bob.page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    ada.send("said while Bob is here")
    expect(announcer.locator("p")).to_have_text(["Ada: said while Bob is here"])
    # After a reload the same messages are history: nothing is read out.
    bob.page.reload()
    bob.wait_in_room()
    expect(bob.messages).to_have_count(2)
    expect(bob.page.locator("#announcer p")).to_have_count(0)
    # One's own messages are not read back either.
    bob.send("my own words")
    expect(ada.page.locator("#announcer p").last).to_have_text("Bob: my own words")
    expect(bob.page.locator("#announcer p")).to_have_count(0)


def test_the_watch_page_messages_are_reachable_by_keyboard(people):
    ada, watcher = people(2)
    ada.create_room("Ada")
    for number in range(3):
        ada.send(f"line {number}")
    ada.page.click("#room-menu-button")
    ada.page.click("#create-watch-link")
    expect(ada.page.locator("#watch-link")).to_have_value(re.compile("/watch/"))
    watcher.page.goto(ada.page.locator("#watch-link").input_value())
    expect(watcher.messages).to_have_count(3)
    newest = watcher.message("line 2")
    expect(newest).to_have_attribute("tabindex", "0")
    newest.focus()
    watcher.page.keyboard.press("ArrowUp")
    expect(watcher.message("line 1")).to_be_focused()
