"""The small things a chat user expects: day separators and the start of the room, a hint with the
invite link in an empty room, emoji-only messages shown large, and code set apart."""

from playwright.sync_api import expect

# Seeded through the server's database: messages from days ago cannot be typed today.
SEED = """
from datetime import timedelta
from django.utils import timezone
from rooms.services.messages import post_message
from rooms.services.rooms import create_room
room = create_room(title="Old room")
now = timezone.now()
for body, days_ago in (("from last week", 8), ("also last week", 8), ("from yesterday", 1), ("from today", 0)):
    message, _ = post_message(room, "Old timer", body)
    type(message).objects.filter(pk=message.pk).update(created_at=now - timedelta(days=days_ago))
print(room.code)
"""


def test_days_are_separated_and_the_start_of_the_room_is_marked(people, app_server):
    code = app_server.run_python(SEED).strip()
    (reader,) = people(1)
    reader.enter_room("Reader", code)
    expect(reader.messages).to_have_count(4)
    landmarks = reader.page.locator("#messages > li.room-start, #messages > li.day-separator")
    expect(landmarks).to_have_count(4)
    texts = landmarks.all_inner_texts()
    assert texts[0] == f"This is the start of room {code}."
    assert texts[2:] == ["Yesterday", "Today"]
    assert texts[1] not in ("Today", "Yesterday") and any(char.isdigit() for char in texts[1])
    # Each separator stands right before the first message of its day; today's join notices follow.
    first_of_day = reader.page.locator("#messages > li.day-separator + li.message .body")
    expect(first_of_day).to_have_text(["from last week", "from yesterday", "from today"])
    expect(reader.system_notices.last).to_contain_text("Reader has entered the room")
    # A new day's first entry may be a notice: in a fresh room "Today" comes before the join.
    (ada,) = people(1)
    ada.create_room("Ada")
    expect(ada.page.locator("#messages > li").first).to_have_text(
        "This is the start of room " + ada.page.locator("#room-code").inner_text() + "."
    )
    expect(ada.page.locator("#messages > li.day-separator + li.system")).to_contain_text("Ada has entered the room")
    expect(reader.page.locator("#empty-hint")).to_be_hidden()


def test_an_empty_room_shows_its_invite_link_until_someone_writes(people, app_server):
    (ada,) = people(1)
    code = ada.create_room("Ada")
    hint = ada.page.locator("#empty-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("No messages yet.")
    expect(hint.get_by_role("link")).to_have_text(f"{app_server.url}/rooms/{code}/")
    ada.send("first!")
    expect(hint).to_be_hidden()


def test_emoji_only_messages_are_large_and_code_is_set_apart(people):
    (ada,) = people(1)
    ada.create_room("Ada")
    ada.send("🎉🎉")
    ada.send("run `make test` please")
    party = ada.message("🎉🎉").locator(".body")
    words = ada.message("run").locator(".body")
    expect(party).to_have_class("body emoji-only")
    expect(words).to_have_class("body")
    size = "node => parseFloat(getComputedStyle(node).fontSize)"
    assert party.evaluate(size) >= 2 * words.evaluate(size)
    background = words.locator("code").evaluate("node => getComputedStyle(node).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")


def test_after_leaving_the_home_page_offers_the_way_back(people):
    (ada,) = people(1)
    code = ada.create_room("Ada", title="Book club")
    ada.page.click("#leave")
    ada.page.wait_for_url(f"{ada.base_url}/")
    recent = ada.page.get_by_role("region", name="Your recent rooms")
    expect(recent.get_by_role("link")).to_have_text([f"{code} · Book club"])
    recent.get_by_role("link").click()
    assert ada.wait_in_room() == code
