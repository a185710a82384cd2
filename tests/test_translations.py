"""The catalogues (complete, compiled, covering every marked string) and the languages people get:
Accept-Language, the language picker kept in the session, and websocket error details."""

import ast
import re
from pathlib import Path

import polib
import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils.translation.template import templatize

from rooms.language import LANGUAGE_SESSION_KEY
from tests.support.ws import receive_until, refusal, room_socket, send
from tests.test_translation_marking import PYTHON, TEMPLATES
from tests.translation_marking import GETTEXT_FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("de", "es")
CATALOGUES = [ROOT / "locale" / language / "LC_MESSAGES" / "django.po" for language in TRANSLATED]
BRACE_FIELD = re.compile(r"\{(\w*)(?:![rsa])?\}")
PERCENT_FIELD = re.compile(r"%\((\w+)\)s")
TAG = re.compile(r"<[^>]+>")


# --- the catalogues ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", CATALOGUES, ids=TRANSLATED)
def test_every_entry_is_translated_and_keeps_its_placeholders_and_markup(path):
    catalogue = polib.pofile(str(path))
    assert len(catalogue) > 100, "the catalogue lost its entries"
    problems = []
    for entry in catalogue:
        where = f"{path.relative_to(ROOT)}: {entry.msgid!r}"
        if entry.obsolete:
            problems.append(f"{where}: obsolete (run `make messages`)")
        elif "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy (check the translation, then remove the flag)")
        elif not entry.msgstr.strip():
            problems.append(f"{where}: not translated")
        else:
            for name, pattern in (("placeholders", BRACE_FIELD), ("placeholders", PERCENT_FIELD), ("markup", TAG)):
                if sorted(pattern.findall(entry.msgid)) != sorted(pattern.findall(entry.msgstr)):
                    problems.append(f"{where}: its {name} differ in {entry.msgstr!r}")
    assert not problems, "\n".join(problems)


def test_every_catalogue_is_compiled_and_its_mo_matches_its_po():
    """A .po edited without `make messages-compile` leaves a stale .mo: the pages would not show it."""
    catalogues = sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po"))
    assert {path.parent.parent.name for path in catalogues} >= set(TRANSLATED)
    for po_path in catalogues:
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path.relative_to(ROOT)} is missing: run `make messages-compile`"
        wanted = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(po_path)).translated_entries()}
        compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(mo_path)) if e.msgid}
        assert compiled == wanted, f"{mo_path.relative_to(ROOT)} is stale: run `make messages-compile`"


def marked_messages():
    """(context, msgid) of every string marked in the checked templates and Python."""
    found = set()
    for path in TEMPLATES:
        # Django's own conversion for xgettext: each {% translate %} / {% blocktranslate %} becomes
        # a gettext('…') / pgettext('…', '…') call with the msgid makemessages extracts.
        text = templatize(path.read_text(), origin=str(path))
        for function, arguments in re.findall(r"\b(gettext|pgettext)\(((?:u?'(?:[^'\\]|\\.)*'(?:, )?)+)\)", text):
            values = ast.literal_eval(f"({arguments},)")
            found.add((values[0], values[1]) if function == "pgettext" else (None, values[0]))
    for path in PYTHON:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_FUNCTIONS:
                literals = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
                context = node.func.id.startswith(("pgettext", "npgettext"))
                found.add((literals[0], literals[1]) if context else (None, literals[0]))
    return found


@pytest.mark.parametrize("path", CATALOGUES, ids=TRANSLATED)
def test_every_marked_string_is_in_the_catalogue(path):
    in_catalogue = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(path))}
    marked = marked_messages()
    assert len(marked) > 100
    missing = sorted(marked - in_catalogue, key=str)
    assert not missing, f"marked but not in {path.relative_to(ROOT)} (run `make messages`): {missing}"


# --- pages ------------------------------------------------------------------------------------


def create_room_as(client, name="Ann", **headers):
    response = client.post("/", {"name": name, "create": "1"}, **headers)
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "lang", "home_text", "room_text"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Raum erstellen", "Raum verlassen"),
        ("es", "es", "Crear sala", "Salir de la sala"),
        ("fr, en;q=0.5", "en", "Create room", "Leave room"),
    ],
)
def test_home_and_room_pages_speak_the_browsers_language(client, accept, lang, home_text, room_text):
    home = client.get("/", HTTP_ACCEPT_LANGUAGE=accept)
    page = home.content.decode()
    assert f'<html lang="{lang}">' in page
    assert home_text in page
    assert home["Content-Language"] == lang
    room_path = create_room_as(client, HTTP_ACCEPT_LANGUAGE=accept)
    room = client.get(room_path, HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f'<html lang="{lang}">' in room
    assert room_text in room


@pytest.mark.django_db
def test_form_errors_flash_messages_and_error_pages_are_translated(client):
    page = client.post("/", {"name": "", "create": "1"}, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Bitte gib einen Anzeigenamen ein." in page
    assert "Dein Name" in page  # the form's label
    response = client.get("/rooms/ZZZZZZ/", HTTP_ACCEPT_LANGUAGE="es", follow=True)
    assert "No hay ninguna sala con el código ZZZZZZ." in response.content.decode()
    missing = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="es")
    assert missing.status_code == 404
    assert "Aquí no hay nada" in missing.content.decode()


@pytest.mark.django_db
def test_the_picked_language_beats_accept_language_on_every_page_and_persists(client):
    room_path = create_room_as(client, HTTP_ACCEPT_LANGUAGE="de")
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    # The picker: a labelled select and a button, posted (with the CSRF token) to /language/.
    assert 'action="/language/"' in home and 'name="csrfmiddlewaretoken"' in home
    assert '<label for="language-choice">Sprache</label>' in home
    assert '<option value="es" lang="es">Español</option>' in home

    answer = client.post("/language/", {"language": "es", "next": room_path}, HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 302 and answer["Location"] == room_path
    assert client.session[LANGUAGE_SESSION_KEY] == "es"
    for path in (room_path, "/", room_path):
        page = client.get(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        assert '<html lang="es">' in page
        assert '<option value="es" lang="es" selected>' in page
    assert "Salir de la sala" in client.get(room_path, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    client.post("/language/", {"language": "de", "next": "/"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "Raum erstellen" in client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()


@pytest.mark.django_db
def test_the_picker_refuses_unknown_languages_foreign_next_urls_gets_and_missing_csrf(client):
    client.get("/")
    answer = client.post("/language/", {"language": "xx", "next": "https://evil.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert LANGUAGE_SESSION_KEY not in client.session
    assert client.post("/language/", {"language": "de", "next": "//evil.example/x"})["Location"] == "/"
    assert client.get("/language/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/language/", {"language": "de", "next": "/"}).status_code == 403


# --- websocket error details ------------------------------------------------------------------


def session_with(name, language=None):
    store = SessionStore()
    store["name"] = name
    if language:
        store[LANGUAGE_SESSION_KEY] = language
    store.create()
    return store.session_key


async def open_with_language(code, session_key, accept_language):
    communicator = room_socket(code, session_key)
    communicator.scope["headers"].append((b"accept-language", accept_language.encode()))
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_error_frames_use_the_sessions_language_over_accept_language(room):
    german = await database_sync_to_async(session_with)("Ann", "de")
    spanish_browser = await database_sync_to_async(session_with)("Bob")
    ann = await open_with_language(room.code, german, "es")
    bob = await open_with_language(room.code, spanish_browser, "es-ES,es;q=0.9")
    try:
        for communicator in (ann, bob):
            await receive_until(communicator, "presence")
            await communicator.send_to(text_data='{"type": "launch"}')
        ann_error, _ = await receive_until(ann, "error")
        bob_error, _ = await receive_until(bob, "error")
        assert ann_error == {"type": "error", "code": "unknown_type", "detail": "Unbekannter Frame-Typ: 'launch'."}
        assert bob_error["detail"] == "Tipo de trama desconocido: 'launch'."
        await send(ann, "x" * 2001)
        too_long, _ = await receive_until(ann, "error")
        assert too_long["code"] == "message_too_long"
        assert too_long["detail"] == "Nachrichten dürfen höchstens 2000 Zeichen lang sein."
    finally:
        await ann.disconnect()
        await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_refusals_and_hub_decided_ends_are_in_the_connections_language(owned_room):
    room, _key, session = owned_room
    # Refused at admission (no name yet): Accept-Language is all there is.
    nameless = await database_sync_to_async(SessionStore)()
    await database_sync_to_async(nameless.create)()
    refused = await open_with_language(room.code, nameless.session_key, "de")
    frame, close_code = await refusal(refused)
    assert (frame["code"], close_code) == ("no_name", 4001)
    assert frame["detail"] == "Wähle zuerst auf der Raumseite einen Anzeigenamen."

    # Kicked: the hub ends the connection from outside its task; still the session's language.
    owner = await open_with_language(room.code, await database_sync_to_async(session)("Olga", owner=True), "en")
    bob_key = await database_sync_to_async(session_with)("Bob", "es")
    bob = await open_with_language(room.code, bob_key, "de")
    try:
        await receive_until(bob, "presence")
        await receive_until(owner, "presence", members=["Bob", "Olga"])
        await owner.send_json_to({"type": "kick", "name": "Bob"})
        kicked, _ = await receive_until(bob, "error")
        assert kicked["code"] == "kicked"
        assert kicked["detail"] == "El propietario te ha expulsado de esta sala."
    finally:
        await owner.disconnect()
        await bob.disconnect()


@pytest.mark.django_db
def test_members_in_each_language_get_the_room_dialogs_in_theirs_and_the_owner_gets_his_links():
    """The room menu and bot dialogs are rendered once per language for members (they hold no
    owner link then): an English reader's copy never reaches a German one, nor an owner's links a member."""
    owner = Client()
    room_path = create_room_as(owner, HTTP_ACCEPT_LANGUAGE="en")
    code = room_path.strip("/").split("/")[-1]
    pages = {}
    for accept, name in (("en", "Ann"), ("de", "Bea"), ("en", "Cy")):
        member = Client()
        member.post("/", {"name": name, "code": code, "join": ""}, HTTP_ACCEPT_LANGUAGE=accept)
        pages[name] = member.get(room_path, HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert ">A member</h3>" in pages["Ann"] and ">A member</h3>" in pages["Cy"]
    assert ">Ein Mitglied</h3>" in pages["Bea"] and ">A member</h3>" not in pages["Bea"]
    owners_page = owner.get(room_path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    owner_link = re.search(r'id="owner-link" readonly value="([^"]+)"', owners_page).group(1)
    assert f"/rooms/{code}/own/" in owner_link
    assert all('id="owner-link" readonly value=""' in page for page in pages.values())
