"""End-to-end encrypted rooms in real browsers (docs/e2ee.md): two people chat; the database, a
keyless member's websocket and the exports hold none of their words; a page without the key says
how to open the room; a tampered or foreign ciphertext shows a placeholder; history still opens
after a server restart."""

import base64
import json
import os
import re
import threading
import time

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

ENCRYPTED_URL = re.compile(r"/rooms/[A-Z0-9]+/#k=[A-Za-z0-9_-]{43}$")
UNREADABLE = "could not be decrypted"
RECONNECT_MS = 25000


def create_encrypted_room(person, name):
    person.goto("/")
    person.page.fill("input[name=name]", name)
    person.page.check("input[name=encrypted]")
    person.page.click("button[name=create]")
    person.page.wait_for_url(ENCRYPTED_URL)
    connected(person)
    return person.page.locator("#room-code").inner_text(), person.page.url


def connected(person, timeout=None):
    expect(person.page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=timeout)


def enter_by_link(person, link, name):
    """Open an invite link (with or without its key) and give a name at the prompt."""
    person.page.goto(link)
    person.page.fill("input[name=name]", name)
    person.page.click("button[type=submit]")


def stored_rows(server, code):
    """The room's stored messages as the database holds them (body, ciphertext, iv)."""
    script = (
        "import json; from rooms.models import Message; "
        f"print(json.dumps(list(Message.objects.filter(room__code='{code}').order_by('id')"
        ".values('id', 'body', 'ciphertext', 'iv'))))"
    )
    return json.loads(server.run_python(script))


class RawMember:
    """A member's websocket without the key: every frame it receives is kept, as text."""

    def __init__(self, server, code, person):
        cookie = next(c for c in person.context.cookies() if c["name"] == "sessionid")["value"]
        url = server.url.replace("http", "ws") + f"/ws/rooms/{code}/"
        self.socket = connect(url, origin=server.url, additional_headers={"Cookie": f"sessionid={cookie}"})
        self.frames = []
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        try:
            for text in self.socket:
                self.frames.append(text)
        except Exception:
            pass

    def wait_for(self, count, text, timeout=5):
        """Until `count` received frames hold `text` (bounded in time)."""
        deadline = time.monotonic() + timeout
        while sum(text in frame for frame in self.frames) < count:
            assert time.monotonic() < deadline, f"fewer than {count} frames with {text}: {self.frames}"
            time.sleep(0.05)

    def send(self, frame):
        self.socket.send(json.dumps(frame))

    def close(self):
        self.socket.close()
        self.reader.join(timeout=5)


def test_two_people_chat_and_the_server_a_keyless_member_and_the_exports_see_no_plaintext(people, app_server):
    (alice,) = people(1, permissions=["clipboard-read", "clipboard-write"])
    bob, eve = people(2)
    code, link = create_encrypted_room(alice, "Alice")
    expect(alice.page.locator("#e2ee-badge")).to_be_visible()
    # The invite carries the key in its fragment (and so does its QR code, drawn in the page: below).
    alice.page.click("#copy-link")
    expect(alice.page.locator("#copy-link")).to_have_text("Link copied")
    assert alice.page.evaluate("navigator.clipboard.readText()") == link
    expect(alice.page.locator("#show-qr")).to_have_count(1)
    assert alice.page.locator("#invite-link-text").get_attribute("href") == link

    # Eve is a member (she has the room's code) but not the key: the page says how to open it.
    enter_by_link(eve, f"{app_server.url}/rooms/{code}/", "Eve")
    expect(eve.page.locator("#e2ee-locked")).to_be_visible()
    expect(eve.page.locator("#e2ee-locked")).to_contain_text(
        "This room is end-to-end encrypted: open it with the full invite link"
    )
    expect(eve.page.locator("#messages")).to_be_hidden()
    eavesdropper = RawMember(app_server, code, eve)

    enter_by_link(bob, link, "Bob")
    bob.page.wait_for_url(ENCRYPTED_URL)
    connected(bob)
    alice.send("the eagle lands at midnight")
    expect(bob.message("the eagle lands at midnight")).to_have_count(1)
    bob.send("bring the **blue umbrella**")
    expect(alice.message("bring the blue umbrella")).to_have_count(1)
    expect(alice.message("bring the blue umbrella").locator("strong")).to_have_text("blue umbrella")
    bob.send("/me waves")
    expect(alice.messages.last).to_contain_text("waves")
    expect(alice.messages.last).not_to_contain_text("/me")
    secrets = ("eagle", "midnight", "umbrella", "waves")

    # The database holds ciphertexts only.
    rows = stored_rows(app_server, code)
    assert len(rows) == 3 and all(row["body"] == "" and row["ciphertext"] and row["iv"] for row in rows)
    assert not any(word in json.dumps(rows) for word in secrets)
    # So do the frames a keyless member receives, and the server's transcripts.
    eavesdropper.wait_for(3, '"ciphertext"')
    eavesdropper_text = "\n".join(eavesdropper.frames)
    assert eavesdropper_text.count('"ciphertext"') >= 3
    assert not any(word in eavesdropper_text for word in secrets)
    for fmt in ("json", "text"):
        export = bob.context.request.get(f"{app_server.url}/rooms/{code}/transcript.{fmt}").text()
        assert "ciphertext" in export and not any(word in export for word in secrets)

    # A plaintext body from a raw client is refused; a ciphertext under another key shows as such.
    eavesdropper.send({"type": "message", "body": "plain words", "client_id": "raw-1"})
    forged = base64.b64encode(os.urandom(40)).decode()
    iv = base64.b64encode(os.urandom(12)).decode()
    eavesdropper.send({"type": "message", "ciphertext": forged, "iv": iv, "client_id": "raw-2"})
    for person in (alice, bob):
        expect(person.page.locator("#messages li.undecryptable")).to_have_count(1)
        expect(person.page.locator("#messages li.undecryptable")).to_contain_text(UNREADABLE)
    eavesdropper.close()
    assert any('"code":"encrypted_room"' in frame for frame in eavesdropper.frames)
    assert not any(word in json.dumps(stored_rows(app_server, code)) for word in ("plain words", *secrets))


def test_a_wrong_key_shows_the_notice_not_garbage(people, app_server):
    alice, mallory = people(2)
    code, link = create_encrypted_room(alice, "Alice")
    alice.send("only for the key holders")
    expect(alice.message("only for the key holders")).to_have_count(1)
    wrong = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    enter_by_link(mallory, f"{app_server.url}/rooms/{code}/#k={wrong}", "Mallory")
    expect(mallory.page.locator("#e2ee-locked")).to_be_visible()
    expect(mallory.page.locator("#messages li")).to_have_count(0)


def test_the_invite_qr_code_is_drawn_in_the_browser_with_the_key(people, app_server):
    (alice,) = people(1)
    asked = []
    alice.page.on("request", lambda request: asked.append(request.url))
    code, link = create_encrypted_room(alice, "Alice")
    connected(alice)
    alice.page.click("#show-qr")
    drawn = alice.page.locator("#invite-qr svg.invite-qr-image[role=img]")
    expect(drawn).to_be_visible()
    assert link in drawn.get_attribute("aria-label")  # the link it encodes carries #k=…
    assert alice.page.locator("#invite-qr svg path").get_attribute("d").count("h1v1h-1z") > 100
    expect(alice.page.locator("#invite-qr .invite-qr-link")).to_have_text(link)
    assert not [url for url in asked if "/qr.svg" in url or "#k=" in url]  # the key never left the page


def test_search_edits_replies_and_the_decrypted_transcript_work_in_the_browser(people, app_server):
    alice, bob = people(2)
    code, link = create_encrypted_room(alice, "Alice")
    enter_by_link(bob, link, "Bob")
    connected(bob)
    alice.send("the harbour meeting moved to Tuesday")
    alice.send("bring snaks")
    expect(bob.messages).to_have_count(2)

    # An edit is encrypted again; everyone sees the new text.
    typo = alice.message("bring snaks")
    typo.hover()
    typo.locator(".edit-message").click()
    typo.locator(".edit-body").fill("bring snacks")
    typo.locator(".save-edit").click()
    expect(bob.messages.nth(1).locator(".body")).to_have_text("bring snacks")
    expect(bob.messages.nth(1).locator(".edited")).to_have_text("(edited)")
    # A reply's quote comes from the parent the page decrypted (the server has no excerpt).
    parent = bob.message("harbour meeting")
    parent.hover()
    parent.locator(".reply-message").click()
    bob.send("which harbour?")
    expect(alice.message("which harbour?").locator(".reply-quote")).to_have_text(
        "Alice the harbour meeting moved to Tuesday"
    )
    assert not any("harbour" in json.dumps(row) or "snacks" in json.dumps(row) for row in stored_rows(app_server, code))

    alice.page.fill("#search", "harbour")
    alice.page.press("#search", "Enter")
    expect(alice.page.locator(".search-result")).to_have_count(2)
    expect(alice.page.locator(".search-result").last).to_contain_text("harbour meeting")

    with alice.page.expect_download() as download:
        alice.page.click("#e2ee-transcript")
    text = open(download.value.path(), encoding="utf-8").read()
    assert "Alice: the harbour meeting moved to Tuesday" in text and "Alice: bring snacks" in text


def test_a_tampered_stored_ciphertext_shows_the_placeholder_and_history_opens_after_a_restart(people, own_server):
    alice, bob = people(2, server=own_server)
    code, link = create_encrypted_room(alice, "Alice")
    enter_by_link(bob, link, "Bob")
    connected(bob)
    alice.send("before the restart")
    expect(bob.message("before the restart")).to_have_count(1)

    own_server.kill()
    for person in (alice, bob):
        expect(person.page.locator("#connection")).not_to_have_attribute("data-state", "connected")
    alice.send("typed while the server was down")
    own_server.start()
    for person in (alice, bob):
        connected(person, timeout=RECONNECT_MS)
    # Bob's page resumes and decrypts what it missed.
    expect(bob.message("typed while the server was down")).to_have_count(1, timeout=RECONNECT_MS)

    # Someone with the database flips a byte of the first stored ciphertext.
    first = stored_rows(own_server, code)[0]
    raw = bytearray(base64.b64decode(first["ciphertext"]))
    raw[0] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    own_server.run_python(
        f"from rooms.models import Message; Message.objects.filter(pk={first['id']}).update(ciphertext='{tampered}')"
    )
    bob.page.reload()
    connected(bob)
    expect(bob.messages).to_have_count(2)
    expect(bob.messages.first).to_have_class(re.compile(r"\bundecryptable\b"))
    expect(bob.messages.first).to_contain_text(UNREADABLE)
    expect(bob.messages.last.locator(".body")).to_have_text("typed while the server was down")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations_on_the_encrypted_room_its_checkbox_and_its_notice(people, scheme):
    from tests.browser.test_accessibility import violations

    alice, eve = people(2, color_scheme=scheme)
    alice.goto("/")
    assert violations(alice.page) == ""
    code, _ = create_encrypted_room(alice, "Alice")
    alice.send("hello")
    expect(alice.messages).to_have_count(1)
    assert violations(alice.page) == ""
    enter_by_link(eve, f"{alice.base_url}/rooms/{code}/", "Eve")
    expect(eve.page.locator("#e2ee-locked")).to_be_visible()
    assert violations(eve.page) == ""
