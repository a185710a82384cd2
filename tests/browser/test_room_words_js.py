"""How the room page words things, from its modules' pure functions, run in Chromium: day labels,
reaction names, the expiry question, the mute note, the removed page's heading, emoji-only bodies."""

from tests.browser.test_room_modules_js import run


def test_days_are_called_today_yesterday_or_by_their_date(page):
    labels = run(
        page,
        "days.js",
        """
        const now = new Date(2026, 10, 30, 9, 0);
        return [new Date(2026, 10, 30, 0, 1), new Date(2026, 10, 29, 23, 59), new Date(2026, 10, 23, 12, 0),
                new Date(2025, 11, 31, 12, 0)].map((date) => m.dayLabel(date, now));
        """,
    )
    assert labels[:2] == ["Today", "Yesterday"]
    assert "23" in labels[2] and "2026" not in labels[2]  # this year's dates leave the year out
    assert "2025" in labels[3]


def test_a_reaction_chip_says_the_emoji_the_count_and_who(page):
    label = run(
        page,
        "rich.js",
        "return m.reactionLabel({ emoji: '👍', count: 2, names: ['Ann', 'Bob'] });",
    )
    assert label == "thumbs up, 2: Ann, Bob"


def test_expiry_choices_read_as_a_time_from_now(page):
    texts = run(page, "expiry.js", "return [1, 24, 168, 720].map(m.expiryChoiceText);")
    assert texts == ["in 1 hour", "in 1 day", "in 7 days", "in 30 days"]


def test_the_mute_note_and_the_removed_pages_heading(page):
    note = run(page, "mute.js", "return m.muteText(new Date(2026, 10, 30, 14, 5).toISOString());")
    assert note.startswith("Muted by the owner until ") and note.endswith(".")
    assert "14:05" in note or "02:05" in note  # the reader's locale says 24- or 12-hour
    codes = ["kicked", "locked", "room_expired", "something_new"]
    headings = run(page, "ended.js", "return arg.map(m.endedHeading);", codes)
    assert headings == [
        "You were removed from this room",
        "This room is locked",
        "This room has expired",
        "You are no longer in this room",
    ]


def test_only_a_few_emoji_alone_make_an_emoji_only_message(page):
    result = run(
        page,
        "../room_view.js",
        "return ['🎉', '👍🏽 👍', '🇫🇷', '❤️', 'ok 👍', '1', '', '🎉🎉🎉🎉🎉🎉🎉'].map(m.isEmojiOnly);",
    )
    assert result == [True, True, True, True, False, False, False, False]
