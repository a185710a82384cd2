"""The room page's look, checked without a browser: the avatar palette's contrast against the
theme colours in style.css. room_view.js's helpers run in Chromium: tests/browser/test_room_view_js.py."""

import re
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


def palette_in_source():
    """room_view.js's PALETTE as its source spells it: (light, dark) colour pairs."""
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
    colours = palette_in_source()
    assert len(colours) >= 10
    assert len({light for light, _ in colours}) == len(colours)


@pytest.mark.parametrize("background", ["surface", "own"])
def test_names_keep_aa_contrast_in_the_light_theme(background):
    light, _ = theme_colours()
    for colour, _ in palette_in_source():
        assert contrast(colour, light[background]) >= AA_NORMAL_TEXT, (colour, background)


@pytest.mark.parametrize("background", ["surface", "own", "bg"])
def test_names_keep_aa_contrast_in_the_dark_theme(background):
    _, dark = theme_colours()
    for _, colour in palette_in_source():
        assert contrast(colour, dark[background]) >= AA_NORMAL_TEXT, (colour, background)


def test_avatar_initials_keep_aa_contrast_in_both_themes():
    light, dark = theme_colours()
    for light_colour, dark_colour in palette_in_source():
        assert contrast(light_colour, light["avatar-text"]) >= AA_NORMAL_TEXT
        assert contrast(dark_colour, dark["avatar-text"]) >= AA_NORMAL_TEXT
