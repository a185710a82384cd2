"""The room page's look, checked without a browser: the avatar palette's contrast against the
theme colours in style.css, and room_view.js's pure helpers run in node."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "static" / "rooms"
ROOM_VIEW = STATIC / "room_view.js"
STYLE = STATIC / "style.css"
AA_NORMAL_TEXT = 4.5


def relative_luminance(colour):
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first, second):
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def palette():
    source = ROOM_VIEW.read_text()
    block = re.search(r"export const PALETTE = \[(.*?)\n\];", source, re.S).group(1)
    return re.findall(r'\["(#[0-9a-f]{6})", "(#[0-9a-f]{6})"\]', block)


def theme_colours():
    """The custom properties of the light `:root` block and of the dark-mode block in style.css."""
    css = STYLE.read_text()
    light = re.search(r"^:root \{(.*?)^\}", css, re.S | re.M).group(1)
    dark = re.search(r"prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}", css, re.S).group(1)

    def properties(block):
        return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", block))

    return properties(light), properties(dark)


def test_contrast_formula_matches_the_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_the_palette_has_distinct_colours():
    colours = palette()
    assert len(colours) >= 10
    assert len({light for light, _ in colours}) == len(colours)


@pytest.mark.parametrize("background", ["surface", "own"])
def test_names_keep_aa_contrast_in_the_light_theme(background):
    light, _ = theme_colours()
    for colour, _ in palette():
        assert contrast(colour, light[background]) >= AA_NORMAL_TEXT, (colour, background)


@pytest.mark.parametrize("background", ["surface", "own", "bg"])
def test_names_keep_aa_contrast_in_the_dark_theme(background):
    _, dark = theme_colours()
    for _, colour in palette():
        assert contrast(colour, dark[background]) >= AA_NORMAL_TEXT, (colour, background)


def test_avatar_initials_keep_aa_contrast_in_both_themes():
    light, dark = theme_colours()
    for light_colour, dark_colour in palette():
        assert contrast(light_colour, light["avatar-text"]) >= AA_NORMAL_TEXT
        assert contrast(dark_colour, dark["avatar-text"]) >= AA_NORMAL_TEXT


# --- room_view.js in node ---------------------------------------------------------------------

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def run_js(expression):
    """Evaluate a JS expression with room_view.js's exports in scope; returns its JSON value."""
    script = (
        f"import * as view from {json.dumps(ROOM_VIEW.as_uri())};\n"
        "const { " + ", ".join(EXPORTS) + " } = view;\n"
        f"process.stdout.write(JSON.stringify({expression}));\n"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(result.stdout)


EXPORTS = ["nameHash", "colourFor", "initials", "typingText", "unreadTitle", "continuesGroup", "splitLinks"]


@needs_node
def test_a_name_always_gets_the_same_colour_and_names_spread_over_the_palette():
    names = [f"person {n}" for n in range(60)]
    first = run_js(f"{json.dumps(names)}.map(colourFor)")
    again = run_js(f"{json.dumps(names)}.map(colourFor)")
    assert first == again
    assert len({tuple(c) for c in first}) >= 8
    assert all(tuple(c) in palette() for c in first)
    assert run_js('nameHash("Ann")') != run_js('nameHash("Anne")')


@needs_node
def test_initials():
    cases = ["Ann", "ann lee", "  Bob  Marley Jr ", "élodie", "😀 smile", "李 雷"]
    assert run_js(f"{json.dumps(cases)}.map(initials)") == ["A", "AL", "BM", "É", "😀S", "李雷"]


@needs_node
def test_typing_summaries():
    typists = [[], ["Ann"], ["Ann", "Bob"], ["Ann", "Bob", "Cat"]]
    assert run_js(f"{json.dumps(typists)}.map(typingText)") == [
        "",
        "Ann is typing…",
        "Ann and Bob are typing…",
        "Several people are typing…",
    ]


@needs_node
def test_unread_title():
    assert run_js('[unreadTitle(3, "ABCDEF – roomchat"), unreadTitle(0, "ABCDEF – roomchat")]') == [
        "(3) ABCDEF – roomchat",
        "ABCDEF – roomchat",
    ]


@needs_node
def test_messages_group_by_author_within_five_minutes():
    ann = '{"name": "Ann", "ts": "2026-11-23T10:00:00Z"}'
    result = run_js(
        f"[continuesGroup({ann}, {{name: 'Ann', ts: '2026-11-23T10:04:59Z'}}),"
        f" continuesGroup({ann}, {{name: 'Ann', ts: '2026-11-23T10:05:01Z'}}),"
        f" continuesGroup({ann}, {{name: 'Bob', ts: '2026-11-23T10:00:10Z'}}),"
        f" continuesGroup(null, {ann})]"
    )
    assert result == [True, False, False, False]


@needs_node
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
def test_only_http_links_are_cut_out_of_message_text(text, parts):
    assert run_js(f"splitLinks({json.dumps(text)})") == parts
