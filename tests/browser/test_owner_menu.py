"""The owner's room menu and moderation as the owner and the members see them: a side sheet that
leaves the messages their room, confirmations, expiry set and cancelled, the owner's Delete on
others' messages, and a muted member's composer."""

import re

import pytest
from playwright.sync_api import expect

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def list_height(person):
    return person.page.locator("#messages").bounding_box()["height"]


@pytest.mark.parametrize("screen", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_room_menu_opens_over_the_messages_and_escape_closes_it(people, screen):
    (ada,) = people(1, **screen)
    ada.create_room("Ada")
    ada.send("the list keeps its height")
    expect(ada.messages).to_have_count(1)
    before = list_height(ada)

    ada.page.click("#room-menu-button")
    menu = ada.page.get_by_role("dialog", name="Room menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("button", name="Lock room")).to_be_in_viewport()
    assert list_height(ada) >= 0.6 * before  # the menu is over the list, never inside its space
    assert ada.page.evaluate("document.documentElement.scrollWidth") <= screen["viewport"]["width"]

    ada.page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(ada.page.locator("#room-menu-button")).to_be_focused()
    # The close button does the same.
    ada.page.click("#room-menu-button")
    menu.get_by_role("button", name="Close the room menu").click()
    expect(menu).to_be_hidden()


def test_expiry_has_no_default_asks_first_and_can_be_cancelled(people):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    bob.join_room("Bob", code)
    ada.page.click("#room-menu-button")
    expect(ada.page.locator("#expiry-hours")).to_have_value("")
    expect(ada.page.locator("#set-expiry")).to_be_disabled()
    ada.page.select_option("#expiry-hours", label="1 day")
    ada.page.click("#set-expiry")
    expect(ada.page.locator("#confirm-text")).to_have_text("Delete this room and all its messages in 1 day?")
    ada.page.keyboard.press("Escape")  # a second thought: nothing changes
    expect(ada.page.locator("#confirm-dialog")).to_be_hidden()
    expect(ada.page.locator("#room-menu")).to_be_visible()
    expect(bob.page.locator("#expiry")).to_have_text("")
    header_height = bob.page.locator(".room-header").bounding_box()["height"]

    ada.page.click("#set-expiry")
    ada.page.click("#confirm-ok")
    expect(bob.page.locator("#expiry")).to_have_text(re.compile(r"This room disappears in (1 day|23 hrs? 59 mins?)\."))
    # The note has its line kept for it: the header does not grow, the messages do not move.
    assert bob.page.locator(".room-header").bounding_box()["height"] == header_height
    expect(ada.page.locator("#expiry-state")).to_contain_text("The room will be deleted on")
    ada.page.click("#cancel-expiry")
    expect(bob.system_notices.filter(has_text="Ada cancelled the expiry")).to_have_count(1)
    expect(bob.page.locator("#expiry")).to_have_text("")
    expect(ada.page.locator("#cancel-expiry")).to_be_hidden()


def test_make_owner_asks_first(people):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    bob.join_room("Bob", code)
    ada.page.click("#room-menu-button")
    ada.page.click("#transfer-owner")
    expect(ada.page.locator("#confirm-text")).to_have_text("Make Bob the owner? You will no longer own this room.")
    ada.page.click("#confirm-cancel")
    expect(bob.page.locator("#owner-badge")).to_be_hidden()
    ada.page.click("#transfer-owner")
    ada.page.click("#confirm-ok")
    expect(bob.page.locator("#owner-badge")).to_be_visible()
    expect(ada.page.locator("#room-menu")).to_be_hidden()
    expect(ada.page.locator("#room-menu-button")).to_be_hidden()


def test_the_owner_deletes_a_members_message_shown_as_removed_by_the_owner(people):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    bob.join_room("Bob", code)
    ada.send("the owner's words")
    bob.send("something out of line")
    theirs = ada.message("something out of line")
    theirs.hover()
    theirs.get_by_role("button", name="Delete").click()
    expect(ada.page.locator("#confirm-text")).to_have_text(
        "Remove Bob's message for everyone? It will show as removed by the owner."
    )
    ada.page.click("#confirm-ok")
    for person in (ada, bob):
        expect(person.messages.nth(1).locator(".body")).to_have_text("removed by the owner")
    # A member sees no Delete on the owner's message.
    mine = bob.message("the owner's words")
    mine.hover()
    expect(mine.get_by_role("button", name="Delete")).to_have_count(0)


def test_a_muted_member_sees_until_when_and_the_composer_comes_back(people):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    bob.page.clock.install()  # so the mute can be waited out without waiting
    bob.join_room("Bob", code)
    ada.page.click("#room-menu-button")
    ada.page.fill("#mute-minutes", "1")
    ada.page.click("#mute-member")
    expect(ada.system_notices.filter(has_text="Bob was muted for 1 minute by Ada")).to_have_count(1)

    expect(bob.page.locator("#mute-note")).to_have_text(re.compile(r"^Muted by the owner until \d\d:\d\d\.$"))
    expect(bob.page.locator("#message")).to_be_disabled()
    expect(bob.page.locator("#send")).to_be_disabled()

    # A message that crossed the mute on its way (sent as it began) is not sent, with no Retry yet.
    bob.page.evaluate("document.getElementById('message').disabled = false")
    bob.send("crossed the mute")
    crossed = bob.page.locator("#messages li.pending", has_text="crossed the mute")
    expect(crossed.locator(".ts")).to_have_text("not sent")
    expect(crossed.get_by_role("button", name="Retry")).to_be_hidden()

    bob.page.clock.fast_forward("01:05")
    expect(bob.page.locator("#mute-note")).to_be_hidden()
    expect(bob.page.locator("#message")).to_be_enabled()
    expect(bob.page.locator("#send")).to_be_enabled()
    expect(crossed.get_by_role("button", name="Retry")).to_be_visible()
