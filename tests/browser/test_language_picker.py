"""The language picker, by keyboard alone: the browser asks for German, the person picks Spanish,
and every page after that (the home page, the room, a reload) is in Spanish."""

from playwright.sync_api import expect

from tests.browser.test_accessibility import violations

FOCUSED_ID = "() => document.activeElement.id"
FOCUS_RING = (
    "() => { const s = getComputedStyle(document.activeElement);"
    " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
)


def tab_to(page, element_id, limit=20):
    """Press Tab until the element with this id has focus (within `limit` presses), with a ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_ID) == element_id:
            assert page.evaluate(FOCUS_RING), f"no visible focus ring on #{element_id}"
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_language_picked_by_keyboard_beats_the_browsers_and_holds_on_every_page(people):
    (ana,) = people(1, locale="de-DE")
    page = ana.page
    ana.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("button[name=create]")).to_have_text("Raum erstellen")
    expect(page.get_by_label("Sprache")).to_have_value("de")

    page.focus("input[name=name]")
    tab_to(page, "language-choice")
    page.keyboard.press("ArrowDown")  # Deutsch → Español, the next option
    expect(page.locator("#language-choice")).to_have_value("es")
    tab_to(page, "language-submit", limit=1)
    page.keyboard.press("Enter")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("button[name=create]")).to_have_text("Crear sala")
    expect(page.get_by_label("Idioma")).to_have_value("es")
    assert not violations(page), violations(page)

    ana.create_room("Ana")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#leave")).to_have_text("Salir de la sala")
    expect(page.locator("#send")).to_have_text("Enviar")
    page.reload()
    expect(page.locator("#leave")).to_have_text("Salir de la sala")
    expect(page.locator("#language-choice")).to_have_value("es")
