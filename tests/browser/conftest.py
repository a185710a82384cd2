"""Fixtures for the real-browser tests: a daphne live server, Debian's Chromium, and people.

Playwright's sync API is used from plain (non-async) tests and fixtures: pytest-asyncio only runs an
event loop around async tests, so nothing here runs inside a loop.
"""

import os
from pathlib import Path

import pytest

from tests.live_server import LiveServer
from tests.support.browser import LOCAL_TIMEZONE, Person

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
# Every wait in these tests is bounded; a broken page fails in seconds, not at a global timeout.
WAIT_MS = 5000
NAVIGATION_MS = 15000


def pytest_collection_modifyitems(items):
    # Every test under tests/browser drives Chromium; mark them so `-m "not browser"` skips them all.
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    # A skipped browser suite must not pass unnoticed in a green run: say so at the very end.
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "BROWSER TESTS NOT RUN" in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        reason = browser_missing_reason() or "see the skip reasons above"
        terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS SKIPPED: {reason}", red=True, bold=True)


def browser_missing_reason():
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing; run `make browser-deps` (apt-get install -y chromium)"
    return None


# Per module, not per session: a live sync Playwright keeps its event loop marked running, which
# would break the async tests collected after the browser tests.
@pytest.fixture(scope="module")
def browser():
    reason = browser_missing_reason()
    if reason:
        message = f"BROWSER TESTS NOT RUN: {reason}"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message + " (REQUIRE_BROWSER is set)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=NAVIGATION_MS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """One server for the session (each test makes its own rooms, so tests do not interfere)."""
    server = LiveServer(tmp_path_factory.mktemp("live") / "db.sqlite3")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_server(tmp_path):
    """start_server(**env) → a new server for this test alone, with extra environment settings."""
    servers = []

    def start(**env):
        server = LiveServer(tmp_path / f"db{len(servers)}.sqlite3", extra_env=env)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def own_server(start_server):
    """A server for one test alone (e.g. one the test restarts)."""
    return start_server()


@pytest.fixture(scope="module")
def page(browser, app_server):
    """A page on the live server (same origin as static/rooms/, so its modules can be imported), with
    nothing of the room page running; shared by a module's tests, and any uncaught script error in
    it is reported when the module is done."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_server.url + "/")
    yield page
    context.close()
    assert not errors, f"uncaught script errors in the page: {errors}"


@pytest.fixture
def people(browser, app_server):
    """people(n) → n Persons, each in a separate browser context, on the session's live server.

    people(n, server=own_server) uses another server. Contexts run in LOCAL_TIMEZONE with a 24-hour
    locale, and every page's uncaught script errors fail the test.
    """
    contexts = []
    made = []

    def make(count, server=None, **context_options):
        base_url = (server or app_server).url
        group = []
        for _ in range(count):
            options = {"timezone_id": LOCAL_TIMEZONE, "locale": "en-GB", **context_options}
            context = browser.new_context(**options)
            context.set_default_timeout(WAIT_MS)
            context.set_default_navigation_timeout(NAVIGATION_MS)
            contexts.append(context)
            person = Person(context, base_url)
            made.append(person)
            group.append(person)
        return group

    yield make
    errors = [error for person in made for error in person.page_errors]
    for context in contexts:
        context.close()
    assert not errors, f"uncaught script errors in the page: {errors}"
