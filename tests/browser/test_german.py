"""The room page read in German (and, briefly, Spanish): a browser whose language is German gets the
German catalog, and everything the page's JavaScript writes (the connection state, the member
count, day separators, notices, typing, questions before an action, confirmations, counts) is
German, with dates and times written the German way.

The templates' own words are the server's (locale/*/LC_MESSAGES/django.po); these tests read what
the modules under static/rooms/ make."""

import re

from playwright.sync_api import expect

GERMAN = {"locale": "de-DE", "permissions": ["clipboard-read", "clipboard-write"]}
GERMAN_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"


def test_the_room_page_speaks_german_to_a_german_browser(people):
    anna, bernd = people(2, **GERMAN)
    anna.goto("/")
    assert anna.page.evaluate("document.documentElement.lang") == "de"
    code = anna.create_room("Anna")
    expect(anna.page.locator("#connection")).to_have_text("Verbunden")
    expect(anna.page.locator("#members")).to_have_attribute("aria-label", "1 Person hier")

    bernd.join_room("Bernd", code)
    expect(anna.system_notices.filter(has_text="Bernd hat den Raum betreten")).to_have_count(1)
    expect(anna.page.locator("#members")).to_have_attribute("aria-label", "2 Personen hier")
    expect(anna.page.locator("#messages .day-separator").first).to_have_text("Heute")

    # Typing, and a message with its time: 24-hour, and the full date on hover in German words.
    bernd.page.fill("#message", "Hallo")
    expect(anna.page.locator("#typing")).to_have_text("Bernd schreibt …")
    bernd.page.press("#message", "Enter")
    message = anna.message("Hallo")
    expect(message).to_have_count(1)
    time = message.locator("time.ts")
    expect(time).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    full_date = rf"^\d{{1,2}}\. ({GERMAN_MONTHS}) \d{{4}} um \d{{2}}:\d{{2}}:\d{{2}}$"
    expect(time).to_have_attribute("title", re.compile(full_date))
    expect(anna.page.locator("#typing")).to_have_text("")

    # The message's actions and a reply's preview.
    message.focus()
    expect(message.get_by_role("group", name="Aktionen für die Nachricht von Bernd")).to_be_visible()
    message.get_by_role("button", name="Antworten").click()
    expect(anna.page.locator("#reply-preview")).to_have_text(re.compile(r"^Antwort an Bernd: Hallo"))
    anna.page.keyboard.press("Escape")

    # The owner's expiry: the question, its button, the countdown and the date, all German.
    anna.page.click("#room-menu-button")
    anna.page.select_option("#expiry-hours", "24")
    anna.page.click("#set-expiry")
    expect(anna.page.locator("#confirm-text")).to_have_text("Diesen Raum und alle seine Nachrichten in 1 Tag löschen?")
    expect(anna.page.locator("#confirm-ok")).to_have_text("Ablaufdatum setzen")
    anna.page.click("#confirm-ok")
    expect(bernd.page.locator("#expiry")).to_have_text(
        re.compile(r"^Dieser Raum verschwindet in (1 Tg\.|23 Std\., 59 Min\.)$")
    )
    expect(anna.page.locator("#expiry-state")).to_have_text(
        re.compile(r"^Der Raum wird am \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} gelöscht\.$")
    )
    expect(bernd.system_notices.filter(has_text="Anna hat ein Ablaufdatum für den Raum gesetzt")).to_have_count(1)
    anna.page.keyboard.press("Escape")

    # Deleting one's own message asks first, in German, and leaves a German placeholder.
    own = bernd.message("Hallo")
    own.focus()
    own.get_by_role("button", name="Löschen").click()
    expect(bernd.page.locator("#confirm-text")).to_have_text(
        "Deine Nachricht für alle löschen? Das lässt sich nicht rückgängig machen."
    )
    bernd.page.click("#confirm-ok")
    expect(anna.page.locator("#messages .deleted-note")).to_have_text("Nachricht gelöscht")

    # A confirmation that goes away again, and a search's count.
    anna.page.click("#copy-link")
    expect(anna.page.locator("#copy-link")).to_have_text("Link kopiert")
    anna.page.fill("#search", "Hallo")
    anna.page.get_by_role("button", name="Suchen", exact=True).click()
    expect(anna.page.locator(".search-summary")).to_have_text("Keine Nachrichten passen zu „Hallo“.")


def test_the_room_page_speaks_spanish_to_a_spanish_browser(people):
    (ana,) = people(1, locale="es-ES")
    ana.create_room("Ana")
    assert ana.page.evaluate("document.documentElement.lang") == "es"
    expect(ana.page.locator("#connection")).to_have_text("Conectado")
    ana.send("hola")
    expect(ana.page.locator("#messages .day-separator").first).to_have_text("Hoy")
    expect(ana.page.locator("#members")).to_have_attribute("aria-label", "1 persona aquí")
    expect(ana.page.locator("#search")).to_have_attribute("placeholder", "Buscar mensajes")


def test_the_german_room_page_is_axe_clean(people):
    """Translated labels must still name every control, and lang="de" must be a valid language."""
    from tests.browser.test_accessibility import violations

    anna, bernd = people(2, **GERMAN)
    code = anna.create_room("Anna")
    bernd.join_room("Bernd", code)
    bernd.send("Guten Morgen")
    message = anna.message("Guten Morgen")
    message.focus()
    expect(message.get_by_role("button", name="Antworten")).to_be_visible()
    assert violations(anna.page) == ""
