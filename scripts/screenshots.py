"""Save screenshots of roomchat to docs/screenshots/ (`make screenshots`).

Runs the real app under daphne on a free port with a throwaway database, has three people chat in
Debian's Chromium, and captures: the home page, the room in light and dark colour schemes, the
room on a 390 px wide phone (as is, with the member sheet open, and the owner's room menu open),
and the read-only page a watch link opens.
"""

import re
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

OUT = PROJECT_ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1100, "height": 680}
PHONE = {"width": 390, "height": 844}
CONVERSATION = [
    ("alice", "Morning! Is everyone still up for the hike on Saturday?"),
    ("bob", "Yes! I can drive, there's room for three more in the car."),
    ("carol", "Count me in. Should we start at 8 to beat the heat?"),
    ("alice", "8 works. I'll bring sandwiches and coffee."),
    ("bob", "Perfect, see you at the station then."),
]


def enter(page, base_url, name, *, title="", code=""):
    page.goto(base_url + "/")
    page.fill("input[name=name]", name)
    if title:
        page.fill("input[name=title]", title)
    if code:
        page.fill("input[name=code]", code)
        page.click("button[name=join]")
    else:
        page.click("button[name=create]")
    page.wait_for_url("**/rooms/*/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    return page.locator("#room-code").inner_text()


def main():
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: run `make browser-deps` first.")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        server = LiveServer(Path(scratch) / "db.sqlite3")
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                capture(browser, server.url)
                browser.close()
        finally:
            server.stop()


def new_page(browser, **options):
    options = {"locale": "en-GB", "timezone_id": "Europe/Berlin", "viewport": DESKTOP, **options}
    context = browser.new_context(reduced_motion="reduce", **options)
    context.set_default_timeout(10000)
    return context.new_page()


def capture(browser, base_url):
    home = new_page(browser)
    home.goto(base_url + "/")
    home.screenshot(path=OUT / "home.png", full_page=True)

    alice = new_page(browser)
    code = enter(alice, base_url, "Alice", title="Saturday hike")
    people = {"alice": alice}
    for name in ("Bob", "Carol"):
        people[name.lower()] = new_page(browser)
        enter(people[name.lower()], base_url, name, code=code)
    for count, (who, text) in enumerate(CONVERSATION, start=1):
        page = people[who]
        page.fill("#message", text)
        page.press("#message", "Enter")
        expect(alice.locator("#messages li.message:not(.pending)")).to_have_count(count)
    expect(alice.locator("#members li")).to_have_count(3)
    alice.locator("#message").focus()
    alice.screenshot(path=OUT / "room-light.png")

    viewers = (("Dana", "dark", DESKTOP, "room-dark.png"), ("Erin", "light", PHONE, "room-phone.png"))
    for members, (name, scheme, viewport, filename) in enumerate(viewers, start=4):
        options = {"color_scheme": scheme, "viewport": viewport}
        if viewport is PHONE:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        viewer = new_page(browser, **options)
        enter(viewer, base_url, name, code=code)
        expect(viewer.locator("#messages li.message")).to_have_count(len(CONVERSATION))
        expect(viewer.locator("#members li")).to_have_count(members)
        viewer.screenshot(path=OUT / filename)
        if viewport is PHONE:
            viewer.click("#members-toggle")
            expect(viewer.locator("#members")).to_be_visible()
            viewer.screenshot(path=OUT / "room-phone-members.png")

    # The owner's room menu, on a phone: a sheet over the room.
    alice.set_viewport_size(PHONE)
    alice.click("#room-menu-button")
    expect(alice.locator("#room-menu")).to_be_visible()
    alice.screenshot(path=OUT / "room-phone-menu.png")
    alice.keyboard.press("Escape")
    alice.set_viewport_size(DESKTOP)

    # The owner shares a read-only watch link; someone without a name reads along.
    alice.click("#room-menu-button")
    alice.click("#create-watch-link")
    link = alice.locator("#watch-link")
    expect(link).to_have_value(re.compile(r"/watch/"))
    watcher = new_page(browser)
    watcher.goto(link.input_value())
    expect(watcher.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(watcher.locator("#messages li.message")).to_have_count(len(CONVERSATION))
    expect(watcher.locator("#watcher-count")).to_be_visible()
    watcher.screenshot(path=OUT / "watch.png")
    print(f"Saved {', '.join(sorted(p.name for p in OUT.glob('*.png')))} to {OUT.relative_to(PROJECT_ROOT)}/")


if __name__ == "__main__":
    main()
