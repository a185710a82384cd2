"""The room by keyboard alone: reaching a message, reacting, editing (Escape cancels, Enter saves)
and deleting, with a visible focus ring on each control."""

from playwright.sync_api import expect

FOCUS_RING = (
    "() => { const s = getComputedStyle(document.activeElement);"
    " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
)
FOCUSED_CLASS = "() => document.activeElement.className"
FOCUSED_TEXT = (
    "() => document.activeElement.matches('li.message') && document.activeElement.querySelector('.body').textContent"
)


def tab_to(page, css_class, limit=12):
    """Press Tab until a control with this class has focus (within `limit` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if css_class in page.evaluate(FOCUSED_CLASS).split():
            assert page.evaluate(FOCUS_RING), f"no visible focus ring on .{css_class}"
            return
    raise AssertionError(f"Tab never reached .{css_class}")


def test_react_edit_and_delete_by_keyboard_alone(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.send("helo with a typo")
    bob.send("react to this")
    expect(alice.messages).to_have_count(2)
    page = alice.page

    # From the composer, Shift+Tab reaches the list: the newest message is its one Tab stop.
    page.focus("#message")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED_TEXT) == "react to this"
    assert page.evaluate(FOCUS_RING)

    # React: Tab into the message's actions (shown while it has focus), Enter.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "React with thumbs up"
    assert page.evaluate(FOCUS_RING)
    page.keyboard.press("Enter")
    expect(alice.message("react to this").locator(".reaction")).to_have_count(1)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "React with thumbs up"
    chip = bob.message("react to this").locator(".reaction")
    expect(chip).to_have_text("👍 1")
    mine = alice.message("react to this").locator(".reaction")
    expect(mine).to_have_attribute("aria-pressed", "true")
    expect(mine).to_have_attribute("aria-label", "thumbs up, 1: Alice")

    # Escape goes back to the message; the up arrow to the one before.
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowUp")
    assert page.evaluate(FOCUSED_TEXT) == "helo with a typo"

    # Edit, then Escape: nothing changes, focus is back on the message.
    tab_to(page, "edit-message")
    page.keyboard.press("Enter")
    expect(page.locator(".edit-body")).to_be_focused()
    page.keyboard.type(" and more")
    # While editing, the floating actions step aside: Save and Cancel are not covered.
    editing = alice.message("helo with a typo")
    expect(editing.locator(".message-actions")).to_be_hidden()
    expect(editing.get_by_role("button", name="Save")).to_be_visible()
    expect(editing.get_by_role("button", name="Cancel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".edit-body")).to_have_count(0)
    assert page.evaluate(FOCUSED_TEXT) == "helo with a typo"

    # Edit, then Enter saves.
    tab_to(page, "edit-message")
    page.keyboard.press("Enter")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("hello, typo fixed")
    page.keyboard.press("Enter")
    edited = bob.messages.nth(0)
    expect(edited.locator(".body")).to_have_text("hello, typo fixed")
    expect(edited.locator(".edited")).to_have_text("(edited)")

    # Delete asks first; the question is answered by keyboard too.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    tab_to(page, "delete-message")
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#confirm-ok")).to_be_focused()
    page.keyboard.press("Enter")
    expect(bob.messages.nth(0).locator(".body")).to_have_text("message deleted")
    assert page.evaluate("document.activeElement.matches('#messages > li')")


def test_links_and_the_menu_button_show_a_focus_ring(people):
    (ada,) = people(1)
    ada.create_room("Ada")
    for selector in ("#room-menu-button", "#transcript-text", "#copy-link", "#leave"):
        ada.page.focus(selector)
        # Focus by keyboard: Shift+Tab then Tab lands on it again with :focus-visible.
        ada.page.keyboard.press("Shift+Tab")
        ada.page.keyboard.press("Tab")
        assert ada.page.evaluate("selector => document.activeElement.matches(selector)", selector)
        assert ada.page.evaluate(FOCUS_RING), f"no visible focus ring on {selector}"
