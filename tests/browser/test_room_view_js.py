"""room_view.js's pure helpers, run in Chromium as the room page loads them.

The module is imported from the live server (`import('/static/rooms/room_view.js')`), so these run
wherever the browser suite runs, with no node needed.
"""

import pytest

ROOM_VIEW_URL = "/static/rooms/room_view.js"
CALL_EACH = """async ([url, name, argumentLists]) => {
    const view = await import(url);
    return argumentLists.map((args) => view[name](...args));
}"""


def call_each(page, name, argument_lists):
    """room_view.js's export `name` applied to each argument list; the results, as JSON values."""
    return page.evaluate(CALL_EACH, [ROOM_VIEW_URL, name, argument_lists])


def call(page, name, *args):
    return call_each(page, name, [list(args)])[0]


def palette(page):
    return [tuple(pair) for pair in page.evaluate("async (url) => (await import(url)).PALETTE", ROOM_VIEW_URL)]


def test_a_name_always_gets_the_same_colour_and_names_spread_over_the_palette(page):
    names = [[f"person {n}"] for n in range(60)]
    first = call_each(page, "colourFor", names)
    again = call_each(page, "colourFor", names)
    assert first == again
    assert len({tuple(colour) for colour in first}) >= 8
    colours = palette(page)
    assert len(colours) >= 10
    assert all(tuple(colour) in colours for colour in first)
    assert call(page, "nameHash", "Ann") != call(page, "nameHash", "Anne")


def test_initials(page):
    cases = ["Ann", "ann lee", "  Bob  Marley Jr ", "élodie", "😀 smile", "李 雷"]
    assert call_each(page, "initials", [[case] for case in cases]) == ["A", "AL", "BM", "É", "😀S", "李雷"]


def test_typing_summaries(page):
    typists = [[], ["Ann"], ["Ann", "Bob"], ["Ann", "Bob", "Cat"]]
    assert call_each(page, "typingText", [[names] for names in typists]) == [
        "",
        "Ann is typing…",
        "Ann and Bob are typing…",
        "Several people are typing…",
    ]


def test_unread_title(page):
    assert call_each(page, "unreadTitle", [[3, "ABCDEF – roomchat"], [0, "ABCDEF – roomchat"]]) == [
        "(3) ABCDEF – roomchat",
        "ABCDEF – roomchat",
    ]


def test_messages_group_by_author_within_five_minutes(page):
    ann = {"name": "Ann", "ts": "2026-11-23T10:00:00Z"}
    pairs = [
        [ann, {"name": "Ann", "ts": "2026-11-23T10:04:59Z"}],
        [ann, {"name": "Ann", "ts": "2026-11-23T10:05:01Z"}],
        [ann, {"name": "Bob", "ts": "2026-11-23T10:00:10Z"}],
        [None, ann],
    ]
    assert call_each(page, "continuesGroup", pairs) == [True, False, False, False]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("no links here", [{"text": "no links here"}]),
        (
            "see https://example.com/a?b=1.",
            [
                {"text": "see "},
                {"text": "https://example.com/a?b=1", "href": "https://example.com/a?b=1"},
                {"text": "."},
            ],
        ),
        (
            "(http://example.com/wiki/A_(b)) ok",
            [
                {"text": "("},
                {"text": "http://example.com/wiki/A_(b)", "href": "http://example.com/wiki/A_(b)"},
                {"text": ") ok"},
            ],
        ),
        ("javascript:alert(1) and ftp://x.org", [{"text": "javascript:alert(1) and ftp://x.org"}]),
        (
            'line one\nhttps://a.example/"><img src=x>',
            [
                {"text": "line one\n"},
                {"text": "https://a.example/", "href": "https://a.example/"},
                {"text": '"><img src=x>'},
            ],
        ),
    ],
)
def test_only_http_links_are_cut_out_of_message_text(page, text, parts):
    assert call(page, "splitLinks", text) == parts
