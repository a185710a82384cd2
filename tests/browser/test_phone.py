"""The room at phone width (360 px): the newest message is in view and the page does not scroll sideways."""

from playwright.sync_api import expect

from tests.support.browser import wait_for_true

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
AT_END = (
    "() => { const l = document.getElementById('messages'); return l.scrollHeight - l.scrollTop - l.clientHeight < 2; }"
)


def test_phone_room_shows_the_newest_message_after_people_join(people):
    (alice,) = people(1)
    code = alice.create_room("Alice")
    for index in range(10):
        alice.send(f"message number {index} with enough words in it to wrap onto a second line on a phone screen")
    expect(alice.messages).to_have_count(10)

    bob, carol = people(2, **PHONE)
    bob.join_room("Bob", code)
    expect(bob.messages).to_have_count(10)
    expect(bob.members).to_have_count(2)
    # The member list above the messages grew after the history was scrolled to its end.
    wait_for_true(bob.page, AT_END)
    carol.join_room("Carol", code)
    expect(bob.members).to_have_count(3)
    expect(bob.system_notices.last).to_contain_text("Carol has entered the room")
    wait_for_true(bob.page, AT_END)
    expect(bob.system_notices.last).to_be_in_viewport()
    assert bob.page.evaluate("() => document.documentElement.scrollWidth") <= 360
