"""Edit, delete and a reaction in real browsers: the other person sees each change live."""

import re

from playwright.sync_api import expect


def test_edit_delete_and_react_live(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.send("helo Bob")
    alice.send("oops wrong room")
    expect(bob.messages).to_have_count(2)

    first = alice.message("helo Bob")
    first.hover()
    first.locator(".edit-message").click()
    first.locator(".edit-body").fill("hello Bob")
    first.locator(".save-edit").click()
    edited = bob.messages.nth(0)
    expect(edited.locator(".body")).to_have_text("hello Bob")
    expect(edited.locator(".edited")).to_have_text("(edited)")
    # Bob's message has no edit/delete actions; Alice's has.
    expect(bob.messages.nth(0).locator(".edit-message")).to_have_count(0)

    second = alice.message("oops wrong room")
    second.hover()
    second.locator(".delete-message").click()
    alice.page.click("#confirm-ok")  # deleting asks first
    expect(bob.messages.nth(1).locator(".body")).to_have_text("message deleted")
    expect(bob.page.get_by_text("oops wrong room")).to_have_count(0)

    target = bob.messages.nth(0)
    target.hover()
    target.locator('.add-reaction[data-emoji="🎉"]').click()
    chip = alice.messages.nth(0).locator('.reaction[data-emoji="🎉"]')
    expect(chip).to_have_text("🎉 1")
    expect(chip).to_have_attribute("title", "Bob")

    # A fresh page shows the current state from history.
    alice.page.reload()
    alice.wait_in_room()
    expect(alice.messages.nth(0).locator(".body")).to_have_text("hello Bob")
    expect(alice.messages.nth(1).locator(".body")).to_have_text("message deleted")
    expect(alice.messages.nth(0).locator('.reaction[data-emoji="🎉"]')).to_have_text("🎉 1")
    assert alice.page_errors == [] and bob.page_errors == []


def test_a_mention_is_highlighted_for_the_mentioned_member_and_settings_are_remembered(people):
    alice, bob = people(2)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    bob.send("@Alice look, and @Al is not you; `@Alice` in code neither")
    message = alice.message("look")
    expect(message.locator("mark.mention")).to_have_text(["@Alice"])
    expect(message).to_have_class(re.compile(r"\bmentions-me\b"))
    # Bob is not mentioned: nothing highlighted on his side.
    expect(bob.message("look").locator("mark.mention")).to_have_count(0)

    sound = alice.page.locator("input[name=mention-sound]")
    expect(sound).to_be_checked()
    sound.uncheck()
    alice.page.reload()
    alice.wait_in_room()
    expect(alice.page.locator("input[name=mention-sound]")).not_to_be_checked()
    expect(alice.page.locator("input[name=mention-notify]")).to_be_checked()
    assert alice.page_errors == [] and bob.page_errors == []


def test_two_people_who_went_by_the_same_name_each_own_only_their_messages(people):
    # Names are unique among those present: the first Sam posts, then frees the name by renaming.
    first_sam, second_sam = people(2)
    code = first_sam.create_room("Sam")
    first_sam.send("from the first Sam")
    expect(first_sam.messages).to_have_count(1)
    first_sam.page.click("#rename-toggle")
    first_sam.page.fill("#rename-name", "Samuel")
    first_sam.page.press("#rename-name", "Enter")
    expect(first_sam.page.locator("#message")).to_have_attribute("placeholder", "Message as Samuel")
    second_sam.join_room("Sam", code)
    expect(second_sam.messages).to_have_count(1)
    second_sam.send("from the second Sam")
    expect(first_sam.messages).to_have_count(2)

    for person, mine, theirs in (
        (first_sam, "from the first Sam", "from the second Sam"),
        (second_sam, "from the second Sam", "from the first Sam"),
    ):
        expect(person.message(mine)).to_have_class(re.compile(r"\bown\b"))
        expect(person.message(theirs)).not_to_have_class(re.compile(r"\bown\b"))
        # Only the owner (the first Sam, who made the room) may delete others' messages.
        expect(person.message(theirs).locator(".edit-message, .delete-message:not(.moderation)")).to_have_count(0)
    # Still true after a reload (history carries the same tags).
    second_sam.page.reload()
    second_sam.wait_in_room()
    expect(second_sam.message("from the first Sam")).not_to_have_class(re.compile(r"\bown\b"))
    expect(second_sam.message("from the second Sam")).to_have_class(re.compile(r"\bown\b"))


def test_reaction_chips_sit_on_one_row_under_the_body(people):
    (alice,) = people(1)
    alice.create_room("Alice")
    alice.send("react to me")
    message = alice.message("react to me")
    for emoji in ("👍", "❤️", "🎉"):
        message.hover()
        message.locator(f'.add-reaction[data-emoji="{emoji}"]').click()
        expect(message.locator(f'.reaction[data-emoji="{emoji}"]')).to_have_text(f"{emoji} 1")
    chips = [message.locator(".reaction").nth(index).bounding_box() for index in range(3)]
    body = message.locator(".body").bounding_box()
    assert len({round(chip["y"]) for chip in chips}) == 1, chips  # one row, not stacked
    assert chips[0]["x"] < chips[1]["x"] < chips[2]["x"]
    assert chips[0]["x"] >= body["x"] - 1  # in the body's column, not the avatar's
    assert chips[0]["y"] >= body["y"] + body["height"] - 1  # under the body
