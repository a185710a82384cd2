"""The owner's bots and webhooks dialog, and bot messages on the page: a token made in the room
menu (shown once, with its webhook URL and a curl example), a script posting with it, every page
showing the message with its bot badge, and revoking the token."""

import json
import re
import urllib.error
import urllib.request

from playwright.sync_api import expect

from tests.browser.test_accessibility import violations

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url, payload, token=None):
    """What a script does: POST JSON, return (status, body)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_owner_makes_a_token_a_script_posts_and_everyone_sees_a_bot(people, app_server):
    ada, bob = people(2)
    code = ada.create_room("Ada")
    bob.join_room("Bob", code)

    ada.page.click("#room-menu-button")
    ada.page.get_by_role("button", name="Bots & webhooks").click()
    dialog = ada.page.get_by_role("dialog", name="Bots & webhooks")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("No bot tokens yet.")).to_be_visible()
    dialog.get_by_label("Bot name").fill("CI")
    dialog.get_by_label("Bot name").press("Enter")  # the keyboard alone makes it
    token_field = dialog.get_by_label("Token", exact=True)
    expect(dialog.get_by_role("heading", name="Token of CI")).to_be_visible()
    token = token_field.input_value()
    assert len(token) >= 40
    webhook_url = dialog.get_by_label("Webhook URL (Slack-compatible)").input_value()
    assert webhook_url == f"{app_server.url}/hooks/{token}"
    assert token in dialog.get_by_label("Try it with curl").input_value()
    expect(dialog.get_by_role("button", name="Revoke CI")).to_be_visible()
    assert not violations(ada.page), violations(ada.page)

    status, body = post(f"{app_server.url}/api/v1/rooms/{code}/messages", {"body": "build 12 passed"}, token)
    assert status == 201, body
    for person in (ada, bob):
        message = person.message("build 12 passed")
        expect(message.locator(".author")).to_have_text("CI")
        expect(message.locator(".bot-badge")).to_have_text("bot")
    status, body = post(webhook_url, {"text": "disk almost full", "username": "Ada"})
    assert (status, body) == (200, "ok")
    # A webhook may take the owner's name; the badge still tells, and it is not shown as Ada's own.
    message = bob.message("disk almost full")
    expect(message.locator(".author")).to_have_text("Ada")
    expect(message.locator(".bot-badge")).to_have_text("bot")
    expect(ada.message("disk almost full")).not_to_have_class(re.compile(r"\bown\b"))

    # Closed and opened again, the token is gone from the page; the list keeps its name.
    ada.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    ada.page.get_by_role("button", name="Bots & webhooks").click()
    expect(dialog.get_by_label("Token", exact=True)).to_be_hidden()
    dialog.get_by_role("button", name="Revoke CI").click()
    expect(ada.page.locator("#confirm-text")).to_contain_text("Revoke the token of CI?")
    ada.page.click("#confirm-ok")
    expect(dialog.get_by_text("No bot tokens yet.")).to_be_visible()
    status, body = post(f"{app_server.url}/api/v1/rooms/{code}/messages", {"body": "too late"}, token)
    assert status == 401 and json.loads(body)["error"] == "unauthorized"


def test_a_taken_bot_name_is_refused_in_the_dialog(people):
    (ada,) = people(1)
    ada.create_room("Ada")
    ada.page.click("#room-menu-button")
    ada.page.click("#bots-open")
    ada.page.fill("#bot-name", "Grafana")
    ada.page.click("#bot-create")
    expect(ada.page.locator("#bot-list li")).to_have_count(1)
    ada.page.fill("#bot-name", "grafana")
    ada.page.click("#bot-create")
    expect(ada.page.locator("#bot-error")).to_contain_text("already has a bot token named")
    expect(ada.page.locator("#bot-list li")).to_have_count(1)
