"""The home form and the shared room link, as a person types into them."""

import re

from playwright.sync_api import expect


def field_error(person, field):
    return person.page.locator(f"#id_{field}_error")


def test_create_without_a_name_shows_the_error_and_keeps_the_title(people):
    (alice,) = people(1)
    alice.fill_home(name="   ", title="Book club")
    alice.page.click("button[name=create]")
    expect(field_error(alice, "name")).to_have_text("Please enter a display name.")
    expect(alice.page.locator("input[name=title]")).to_have_value("Book club")
    assert alice.page.url == alice.base_url + "/"


def test_join_without_a_code_shows_the_error_and_keeps_the_name(people):
    (alice,) = people(1)
    alice.fill_home(name="Alice")
    alice.page.click("button[name=join]")
    expect(field_error(alice, "code")).to_have_text("Enter the code of the room to join.")
    expect(alice.page.locator("input[name=name]")).to_have_value("Alice")


def test_join_an_unknown_code_shows_the_error_and_keeps_both_values(people):
    (alice,) = people(1)
    alice.fill_home(name="Alice", code="zz9zz9")
    alice.page.click("button[name=join]")
    expect(field_error(alice, "code")).to_have_text("There is no room with code ZZ9ZZ9.")
    expect(alice.page.locator("input[name=name]")).to_have_value("Alice")
    expect(alice.page.locator("input[name=code]")).to_have_value(re.compile("^zz9zz9$", re.IGNORECASE))


def test_join_without_a_name_keeps_the_code(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.fill_home(name="", code=code)
    bob.page.click("button[name=join]")
    expect(field_error(bob, "name")).to_have_text("Please enter a display name.")
    expect(bob.page.locator("input[name=code]")).to_have_value(code)
    # Fixing the name and joining again gets in.
    bob.page.fill("input[name=name]", "Bob")
    bob.page.click("button[name=join]")
    assert bob.wait_in_room() == code


def test_enter_in_the_code_field_joins_that_room(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.fill_home(name="Bob", code=code)
    bob.page.press("input[name=code]", "Enter")
    assert bob.wait_in_room() == code
    expect(alice.members).to_have_text(["Alice", "Bob"])


def test_enter_in_the_name_or_title_field_creates_a_room(people):
    alice, bob = people(2)
    alice.fill_home(name="Alice")
    alice.page.press("input[name=name]", "Enter")
    first = alice.wait_in_room()
    bob.fill_home(name="Bob", title="Bob's room")
    bob.page.press("input[name=title]", "Enter")
    second = bob.wait_in_room()
    assert first != second
    expect(bob.page.locator("#room-title")).to_have_text("Bob's room")
    expect(bob.members).to_have_text(["Bob"])


def test_room_link_without_a_name_asks_for_one(people):
    alice, bob = people(2)
    code = alice.create_room("Alice", title="Planning")
    bob.goto(f"/rooms/{code}/")
    expect(bob.page.locator("h1")).to_contain_text(code)
    expect(bob.page.locator(".lead")).to_have_text("Planning")
    bob.page.click("button[type=submit]")
    expect(field_error(bob, "name")).to_have_text("Please enter a display name.")
    bob.page.fill("input[name=name]", "Bob")
    bob.page.press("input[name=name]", "Enter")
    assert bob.wait_in_room() == code
    expect(alice.system_notices.last).to_contain_text("Bob has entered the room")


def test_unknown_room_link_goes_home_with_an_error(people):
    (alice,) = people(1)
    alice.goto("/rooms/QQ7QQ7/")
    alice.page.wait_for_url(alice.base_url + "/")
    expect(alice.page.locator(".notice-error")).to_have_text("There is no room with code QQ7QQ7.")


def described_by(person, field):
    """The text of what the field's aria-describedby names, as a screen reader announces it."""
    return person.page.locator(f"input[name={field}]").evaluate(
        "input => (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)"
        ".map(id => document.getElementById(id)?.textContent.trim() ?? null).join(' | ')"
    )


def focused_field(person):
    return person.page.evaluate("() => document.activeElement.name || document.activeElement.id")


def test_the_home_page_and_the_name_prompt_open_on_the_name_field(people):
    alice, bob = people(2)
    alice.goto("/")
    assert focused_field(alice) == "name"
    code = alice.create_room("Alice")
    bob.goto(f"/rooms/{code}/")
    assert focused_field(bob) == "name"


def test_a_failed_join_focuses_the_first_field_with_an_error_and_describes_it(people):
    (alice,) = people(1)
    alice.fill_home(name="Alice", code="zz9zz9")
    alice.page.click("button[name=join]")
    expect(field_error(alice, "code")).to_be_visible()
    assert focused_field(alice) == "code"
    assert described_by(alice, "code") == "There is no room with code ZZ9ZZ9."
    expect(alice.page.locator("input[name=code]")).to_have_attribute("aria-invalid", "true")
    # With the name wrong too, the name comes first on the page and gets the focus.
    alice.page.fill("input[name=name]", " ")
    alice.page.click("button[name=join]")
    expect(field_error(alice, "name")).to_be_visible()
    assert focused_field(alice) == "name"
    assert described_by(alice, "name") == "Please enter a display name."


def test_the_name_prompt_refuses_a_taken_name_in_words_a_screen_reader_reaches(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.goto(f"/rooms/{code}/")
    bob.page.fill("input[name=name]", "alice")
    bob.page.click("button[type=submit]")
    expect(field_error(bob, "name")).to_have_text(
        "Someone in this room is already called alice; please choose another name."
    )
    assert focused_field(bob) == "name"
    assert described_by(bob, "name") == "Someone in this room is already called alice; please choose another name."
    expect(bob.page.locator("input[name=name]")).to_have_value("alice")
