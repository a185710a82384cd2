"""The room experience in a real Chromium: paging keeps the reader's place, the new-messages pill,
the unread count in the tab title, typing that expires, and rename from the page."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed", allow_module_level=True)

SEED = """
from rooms import services
room = services.create_room(code="PAGERS", title="Paging room")
for number in range(70):
    services.post_message(room, "Old timer", f"message {number}")
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """daphne serving the project on a free local port, with its own SQLite file and a seeded room."""
    database = tmp_path_factory.mktemp("experience") / "db.sqlite3"
    env = {**os.environ, "SQLITE_PATH": str(database), "DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    subprocess.run([*manage, "shell", "-c", SEED], env=env, cwd=ROOT, check=True, timeout=60)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "chatsite.asgi:application"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to ~10 s for the server to answer
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
async def browser():
    async with playwright.async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


async def enter(browser, url, name, **context_options):
    """A person with their own cookies, on the room page, connected; page errors fail the test."""
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.goto(url)
    await page.fill("#id_name", name)
    await page.click("button.primary")
    await page.wait_for_selector("#connection[data-state=connected]")
    return page


async def say(page, text):
    await page.fill("#message", text)
    await page.press("#message", "Enter")


async def test_paging_keeps_the_place_and_new_messages_wait_below_a_pill(browser, server_url):
    reader = await enter(browser, f"{server_url}/rooms/PAGERS/", "Reader", viewport={"width": 900, "height": 700})
    await reader.wait_for_function("document.querySelectorAll('li.message').length === 50")
    assert await reader.title() == "Paging room · PAGERS – roomchat"

    anchor = await reader.query_selector("li.message")  # the oldest shown before paging: "message 20"
    place_before = await anchor.evaluate("node => node.getBoundingClientRect().bottom")
    await reader.click("#load-earlier")
    await reader.wait_for_function("document.querySelectorAll('li.message').length === 70")
    assert await reader.locator("#load-earlier").is_hidden()  # the start of the room is reached
    assert await reader.locator("li.message .body").first.text_content() == "message 0"
    assert await anchor.text_content() == await reader.locator("li.message").nth(20).text_content()
    place_after = await anchor.evaluate("node => node.getBoundingClientRect().bottom")
    assert abs(place_after - place_before) < 2  # what the reader was looking at did not move

    writer = await enter(browser, f"{server_url}/rooms/PAGERS/", "Writer")
    await reader.evaluate("document.getElementById('messages').scrollTop = 0")
    await say(writer, "are you there?")
    await reader.wait_for_selector("#new-messages:not([hidden])")
    assert await reader.evaluate("document.getElementById('messages').scrollTop") == 0  # not yanked down
    await reader.click("#new-messages")
    assert await reader.locator("#new-messages").is_hidden()
    assert await reader.locator("li.message .body").last.is_visible()
    assert await reader.evaluate("document.activeElement.id") == "message"

    # A reader at the bottom is kept at the bottom, without a pill.
    await say(writer, "second")
    await reader.wait_for_function("document.querySelector('li.message:last-child .body').textContent === 'second'")
    assert await reader.locator("#new-messages").is_hidden()
    assert reader.errors == [] and writer.errors == []


async def test_unread_count_typing_rename_and_own_messages(browser, server_url):
    ann = await enter(browser, f"{server_url}/rooms/PAGERS/", "Ann")
    bob = await enter(browser, f"{server_url}/rooms/PAGERS/", "Bob", color_scheme="dark")
    base_title = await ann.title()

    # Ann's tab goes to the background: Bob's messages are counted in her title until she is back.
    await ann.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    await say(bob, "one")
    await say(bob, "two\nlines")
    await ann.wait_for_function(f"document.title === {('(2) ' + base_title)!r}")
    await ann.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    assert await ann.title() == base_title
    bodies = ann.locator("li.message .body")
    assert await bodies.last.inner_text() == "two\nlines"  # line breaks survive

    # Typing shows for the others, then expires without further typing frames.
    await bob.type("#message", "typing away")
    await ann.wait_for_function("document.getElementById('typing').textContent === 'Bob is typing…'")
    assert await bob.text_content("#typing") == ""
    await ann.wait_for_function("document.getElementById('typing').textContent === ''", timeout=10000)

    # Rename from the page: a bad name is refused in the form, a good one reaches everyone.
    await bob.fill("#message", "")
    await bob.click("#rename-toggle")
    await bob.fill("#rename-name", "x" * 40)
    await bob.press("#rename-name", "Enter")
    await bob.wait_for_selector("#rename-error:not([hidden])")
    assert "at most 32 characters" in await bob.text_content("#rename-error")
    await bob.fill("#rename-name", "Robert")
    await bob.press("#rename-name", "Enter")
    await ann.wait_for_selector("li.system:has-text('Bob is now Robert')")
    await ann.wait_for_function(
        "[...document.querySelectorAll('#members .member-name')].some(n => n.textContent === 'Robert')"
    )
    assert await bob.locator("#rename-form").is_hidden()

    # Own messages look different, the author's colour is the same on both pages, links are safe.
    await say(bob, "see https://example.com/page.")
    await ann.wait_for_selector("li.message:last-child .body a")
    link = ann.locator("li.message:last-child .body a")
    assert await link.get_attribute("href") == "https://example.com/page"
    assert await link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert await bob.locator("li.message:last-child").evaluate("node => node.classList.contains('own')")
    assert not await ann.locator("li.message:last-child").evaluate("node => node.classList.contains('own')")
    colour = "node => node.style.getPropertyValue('--name-light')"
    assert await ann.locator("li.message:last-child .author").evaluate(colour) == await bob.locator(
        "li.message:last-child .author"
    ).evaluate(colour)
    await bob.reload()
    await bob.wait_for_selector("#connection[data-state=connected]")
    assert "Message as Robert" in await bob.get_attribute("#message", "placeholder")
    assert ann.errors == [] and bob.errors == []
