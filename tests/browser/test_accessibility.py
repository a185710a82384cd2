"""axe-core (bundled by axe-playwright-python) on every page a person meets, in light and dark:
zero violations, or the test fails with axe's report of each."""

import re

import pytest
from playwright.sync_api import expect


def violations(page):
    """axe's report of the page as it is now; empty when it found nothing."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return results.generate_report() if results.violations_count else ""


@pytest.fixture(params=["light", "dark"])
def scheme(request):
    return request.param


def check(person, what, reports):
    report = violations(person.page)
    if report:
        reports[what] = report


def test_no_axe_violations_anywhere(people, scheme):
    owner, member, newcomer, watcher = people(4, color_scheme=scheme)
    reports = {}

    owner.goto("/")
    check(owner, "home", reports)
    owner.page.fill("input[name=name]", "Ada")
    owner.page.click("button[name=create]")
    check(owner, "home with an error", reports)

    code = owner.create_room("Ada", title="Saturday hike")
    member.join_room("Bob", code)
    owner.send("Morning! Who brings **coffee**? `thermos` ready")
    member.send("I do 👍 https://example.com")
    message = owner.message("I do")
    message.hover()
    message.locator('.add-reaction[data-emoji="👍"]').click()
    expect(member.message("I do").locator(".reaction")).to_have_count(1)
    check(owner, "room", reports)
    member.message("I do").focus()
    check(member, "room with a message's actions shown", reports)

    owner.page.click("#room-menu-button")
    owner.page.click("#create-watch-link")
    expect(owner.page.locator("#watch-link")).to_have_value(re.compile("/watch/"))
    check(owner, "room with the owner menu open", reports)
    link = owner.page.locator("#watch-link").input_value()
    owner.page.click("#kick-member")
    check(owner, "confirm dialog", reports)
    owner.page.keyboard.press("Escape")
    # An expiry for everyone, a mute for Bob: the notes they bring, and Bob's disabled composer.
    owner.page.select_option("#expiry-hours", label="7 days")
    owner.page.click("#set-expiry")
    owner.page.click("#confirm-ok")
    owner.page.click("#mute-member")
    owner.page.keyboard.press("Escape")
    expect(member.page.locator("#mute-note")).to_be_visible()
    expect(member.page.locator("#expiry")).to_contain_text("This room disappears in")
    check(member, "room, muted, with an expiry", reports)

    newcomer.goto(f"/rooms/{code}/")
    check(newcomer, "name prompt", reports)

    watcher.page.goto(link)
    expect(watcher.page.locator("#connection")).to_have_attribute("data-state", "connected")
    check(watcher, "watch page", reports)

    owner.page.click("#room-menu-button")
    owner.page.fill("#new-passphrase", "blue door")
    owner.page.click("#set-passphrase")
    expect(member.system_notices.filter(has_text="set a passphrase")).to_have_count(1)
    newcomer.goto(f"/rooms/{code}/")
    newcomer.page.fill("input[name=name]", "Cy")
    newcomer.page.click("button[type=submit]")
    expect(newcomer.page.get_by_text("This room needs a passphrase.")).to_be_visible()
    check(newcomer, "passphrase prompt", reports)
    owner.goto("/")
    expect(owner.page.get_by_text("Your recent rooms")).to_be_visible()
    check(owner, "home with recent rooms", reports)
    owner.goto("/no/such/page/")
    check(owner, "404 page", reports)

    assert not reports, "\n\n".join(f"== {what} ({scheme}) ==\n{report}" for what, report in reports.items())


def test_no_axe_violations_on_a_phone_with_the_member_sheet_open(people, scheme):
    (reader,) = people(1, color_scheme=scheme, viewport={"width": 390, "height": 844}, is_mobile=True)
    reader.create_room("Ada")
    reader.page.click("#members-toggle")
    report = violations(reader.page)
    assert not report, report


def test_no_axe_violations_on_the_removed_page(people, scheme):
    owner, member = people(2, color_scheme=scheme)
    code = owner.create_room("Ada")
    member.join_room("Bob", code)
    owner.page.click("#room-menu-button")
    owner.page.click("#kick-member")
    owner.page.click("#confirm-ok")
    expect(member.page.get_by_role("heading", name="You were removed from this room")).to_be_visible()
    report = violations(member.page)
    assert not report, report
