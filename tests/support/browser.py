"""People in real browsers (tests/browser/): each a Chromium context of their own, driven through
Playwright's sync API. The `people` fixture in tests/browser/conftest.py makes them.

Playwright is imported only where it is used, so that without it the browser tests are skipped with
a reason rather than failing to import.
"""

import re
import time

# A timezone with a half-hour offset: a timestamp shown in UTC (or the server's zone) cannot pass.
LOCAL_TIMEZONE = "Asia/Kolkata"


def wait_for_true(page, expression, timeout=5.0):
    """Poll a JavaScript expression until it is truthy. Not `page.wait_for_function`: its polling
    compiles the expression inside the page, which the app's Content-Security-Policy (no
    'unsafe-eval') refuses; `page.evaluate` runs through the DevTools protocol instead."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"never true within {timeout} s: {expression}")
        page.wait_for_timeout(50)


class Person:
    """One person in their own browser context (own cookies, so own session and name)."""

    def __init__(self, context, base_url):
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.page_errors = []
        self.dialogs = []
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path="/"):
        self.page.goto(self.base_url + path)

    def fill_home(self, name="", code="", title=""):
        self.goto("/")
        self.page.fill("input[name=name]", name)
        if title:
            self.page.fill("input[name=title]", title)
        if code:
            self.page.fill("input[name=code]", code)

    def create_room(self, name, title=""):
        """Create a room from the home page; returns its code as the page shows it."""
        self.fill_home(name=name, title=title)
        self.page.click("button[name=create]")
        return self.wait_in_room()

    def join_room(self, name, code):
        self.fill_home(name=name, code=code)
        self.page.click("button[name=join]")
        return self.wait_in_room()

    def enter_room(self, name, code):
        """Open the room's own link (an invite) and enter it under a name."""
        self.goto(f"/rooms/{code}/")
        self.page.fill("input[name=name]", name)
        self.page.click("button[type=submit]")
        return self.wait_in_room()

    def wait_in_room(self):
        from playwright.sync_api import expect

        self.page.wait_for_url(re.compile(r"/rooms/[A-Z0-9]+/$"))
        expect(self.page.locator("#connection")).to_have_attribute("data-state", "connected")
        return self.page.locator("#room-code").inner_text()

    def send(self, text):
        self.page.fill("#message", text)
        self.page.press("#message", "Enter")

    @property
    def messages(self):
        """Confirmed messages (not the sender's own pending copy)."""
        return self.page.locator("#messages li.message:not(.pending)")

    def message(self, body):
        return self.messages.filter(has=self.page.locator(".body", has_text=body))

    @property
    def system_notices(self):
        return self.page.locator("#messages li.system")

    @property
    def members(self):
        """The names in the member list (each item also holds an avatar with initials)."""
        return self.page.locator("#members li .member-name")
