"""On a phone the member list is a "Here now: N" button opening a sheet, so a full room leaves the
screen to the messages; on a desktop it stays the sidebar."""

from playwright.sync_api import expect

from tests.support.crowd import Crowd

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CROWD = [f"Member {number:02d}" for number in range(1, 30)]  # with the reader: 30 people


def test_a_phone_with_thirty_members_keeps_the_screen_for_messages(people, app_server):
    (ada,) = people(1)
    code = ada.create_room("Ada")
    ada.send("welcome, all thirty of you")
    (reader,) = people(1, **PHONE)
    reader.join_room("Reader", code)
    with Crowd(app_server, code, CROWD):
        toggle = reader.page.get_by_role("button", name="Here now: 31")
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(reader.page.locator("#members")).to_be_hidden()
        # The messages have most of the screen.
        assert reader.page.locator("#messages").bounding_box()["height"] >= 0.6 * 844

        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(reader.members).to_have_count(31)
        expect(reader.members.first).to_be_in_viewport()
        expect(reader.page.get_by_role("button", name="Close the member list")).to_be_focused()
        reader.page.keyboard.press("Escape")
        expect(reader.page.locator("#members")).to_be_hidden()
        expect(toggle).to_be_focused()
        assert reader.page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_desktop_shows_the_member_list_beside_the_messages(people):
    (ada,) = people(1, viewport={"width": 1280, "height": 800})
    ada.create_room("Ada")
    expect(ada.members).to_have_text(["Ada"])
    expect(ada.page.locator("#members-toggle")).to_be_hidden()
