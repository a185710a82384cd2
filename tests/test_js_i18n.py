"""The room page's JavaScript in every language: each text a person sees is marked for translation
(a static scan of static/rooms/), every marked text is translated in each djangojs catalog, the
compiled catalogs match their sources, and the page loads its language's catalog from a cacheable
address before its modules run."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

from chatsite.js_catalog import CACHED_FOR_GOOD, catalog_version
from tests.support.home_form import post_home
from tests.support.js_strings import marked_texts, page_sources, unmarked_texts

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog_path(language, suffix):
    return ROOT / "locale" / language / "LC_MESSAGES" / f"djangojs.{suffix}"


def marked():
    """{msgid: (msgid_plural or None, "file:line" where it is marked)} of the page's modules."""
    found = {}
    for path, source in page_sources(STATIC).items():
        for text in marked_texts(source, path):
            found.setdefault(text.msgid, (text.plural, f"{text.path}:{text.line}"))
    return found


# --- every text a person sees is marked ---------------------------------------------------------


def test_every_user_visible_text_in_the_page_modules_is_marked_for_translation():
    offenders = [offender for path, source in page_sources(STATIC).items() for offender in unmarked_texts(source, path)]
    assert not offenders, (
        f"{len(offenders)} user-visible text(s) in static/rooms/ not marked for translation. Wrap each in "
        'gettext("…") or ngettext("…", "…", count) from static/rooms/room/i18n.js (named placeholders: '
        'interpolate(gettext("%(name)s left"), { name })), then add it to locale/*/LC_MESSAGES/djangojs.po '
        "(docs/architecture.md, Translations):\n  " + "\n  ".join(str(offender) for offender in offenders)
    )


# Each: a snippet, and the texts the scan must report in it.
SCAN_CASES = [
    ('node.textContent = "Saved";', ["Saved"]),
    ('node.textContent = ok ? "Done" : "failed";', ["Done", "failed"]),
    ("node.title = `Edited ${when}`;", ["Edited ${…}"]),
    ('input.placeholder = "Search"; image.alt = "Logo";', ["Search", "Logo"]),
    ('node.setAttribute("aria-label", "Close the list");', ["Close the list"]),
    ('node.setAttribute("title", `Hi ${name}`);', ["Hi ${…}"]),
    ('el("p", "note", "ready");', ["ready"]),
    ('button("bot-add", "Add", add);', ["Add"]),
    ('status.showError("Too fast.");', ["Too fast."]),
    ('confirmAction(`Remove ${name}?`, "Remove");', ["Remove ${…}?", "Remove"]),
    ('item.append(nameInText(name), " joined");', [" joined"]),
    ('window.prompt("Copy this:", link);', ["Copy this:"]),
    ("new Notification(`${name} wrote`, { tag: `room-${id}` });", ["${…} wrote"]),
    ("export const NOTICES = { join: (frame) => [nameInText(frame.name), ' has arrived'] };", [" has arrived"]),
    ('const HEADINGS = { kicked: "You were removed" };', ["You were removed"]),
    ('function label(n) { return n === 1 ? "1 bot" : `${n} bots here`; }', ["1 bot", "${…} bots here"]),
    ('status.setConnection("offline", "Offline");', ["Offline"]),
    ('note.textContent += " (read-only)"; select.append(new Option("Pick one", ""));', [" (read-only)", "Pick one"]),
    # Marked, or names for machines: nothing to report.
    ('node.textContent = gettext("Saved"); node.title = interpolate(gettext("Hi %(n)s"), { n });', []),
    ('status.showError(ngettext("%(n)s bot", "%(n)s bots", n));', []),
    ('el("li", own ? "message own" : "message"); button("delete-message moderation", label);', []),
    ('document.querySelector(".edited, .reactions"); node.setAttribute("role", "listbox");', []),
    ('if (event.key === "Enter" || "Notification" in window) node.className = "Big Title";', []),
    ('link.rel = "noopener noreferrer"; const re = /"[^"]*"/g; const s = "x";', []),
    ("throw new Error(`notice ${event} is declared twice`);", []),
    ('import { el } from "./dom.js"; addEventListener("Some Event", go);', []),
]


@pytest.mark.parametrize(("snippet", "expected"), SCAN_CASES)
def test_the_scan_reports_unmarked_texts_wherever_the_page_shows_them(snippet, expected):
    assert [offender.text for offender in unmarked_texts(snippet)] == expected


def test_the_scan_says_where_each_text_is():
    source = 'const a = 1;\n\nnode.textContent = "Hello there";\n'
    (offender,) = unmarked_texts(source, "static/rooms/room/bots.js")
    assert str(offender) == "static/rooms/room/bots.js:3: 'Hello there' (assigned to a text property)"


# --- every marked text is translated --------------------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_translated_in_each_language(language):
    catalog = polib.pofile(str(catalog_path(language, "po")))
    entries = {entry.msgid: entry for entry in catalog if not entry.obsolete}
    texts = marked()
    missing = [f"{where}: {msgid!r}" for msgid, (_plural, where) in texts.items() if msgid not in entries]
    assert not missing, f"not in locale/{language}/LC_MESSAGES/djangojs.po (run makemessages -d djangojs):\n  " + (
        "\n  ".join(missing)
    )
    assert not catalog.metadata_is_fuzzy
    assert not [entry.msgid for entry in catalog.fuzzy_entries()], "fuzzy entries"
    assert not [entry.msgid for entry in catalog.untranslated_entries()], "untranslated entries"
    unused = sorted(set(entries) - set(texts))
    assert not unused, f"entries no module uses any more: {unused}"
    for msgid, (plural, _where) in texts.items():
        assert entries[msgid].msgid_plural == (plural or ""), f"{msgid!r}: its plural differs from the code's"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_every_placeholder(language):
    """interpolate() fills %(name)s by name: a translation missing one, or naming a new one, would
    drop a word or show "undefined"."""
    for entry in polib.pofile(str(catalog_path(language, "po"))):
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            assert set(PLACEHOLDER.findall(translation)) == wanted, f"{language}: {entry.msgid!r} → {translation!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_compiled_catalog_matches_its_source(language):
    source = polib.pofile(str(catalog_path(language, "po")))
    compiled = polib.mofile(str(catalog_path(language, "mo")))

    def texts(catalog):
        return {
            (entry.msgid, entry.msgid_plural): (entry.msgstr, tuple(sorted(entry.msgstr_plural.items())))
            for entry in catalog
            if not entry.obsolete and "fuzzy" not in entry.flags
        }

    assert texts(compiled) == texts(source), "stale .mo: run python scripts/compile_messages.py"
    assert compiled.metadata.get("Plural-Forms") == source.metadata.get("Plural-Forms")


# --- the page loads its language's catalog --------------------------------------------------------


@pytest.mark.django_db
def test_the_room_page_loads_the_catalog_of_its_language_before_its_modules():
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    response = post_home(client, name="Anna", create="")
    page = client.get(response["Location"]).content.decode()
    assert '<html lang="de">' in page
    catalog = f'<script src="/jsi18n/de.js?v={catalog_version("de")}" defer></script>'
    assert catalog in page
    assert page.index(catalog) < page.index('<script type="module"')

    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    page = english.get(post_home(english, name="Ann", create="")["Location"]).content.decode()
    assert '<html lang="en">' in page and f"/jsi18n/en.js?v={catalog_version('en')}" in page


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "today"), [("de", "Heute"), ("es", "Hoy")])
def test_the_catalog_of_a_version_is_cached_for_good(client, language, today):
    response = client.get(f"/jsi18n/{language}.js", {"v": catalog_version(language)})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == CACHED_FOR_GOOD
    body = response.content.decode()
    assert f'"Today": "{today}"' in body
    assert "eval(" not in body and "new Function" not in body  # the CSP forbids both


@pytest.mark.django_db
def test_an_old_version_is_not_cached_and_an_unknown_language_is_not_found(client):
    stale = client.get("/jsi18n/de.js", {"v": "0"})
    assert stale.status_code == 200 and stale["Cache-Control"] == "no-cache"
    assert client.get("/jsi18n/xx.js").status_code == 404
    # Only the project's own catalog: not the admin's JavaScript texts.
    assert "Verfügbare" not in stale.content.decode()


@pytest.mark.django_db
def test_the_catalog_is_in_the_language_of_its_address_whatever_the_request_asks(client):
    body = client.get("/jsi18n/es.js", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '"Today": "Hoy"' in body and "Heute" not in body
