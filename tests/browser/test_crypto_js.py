"""The pure functions of end-to-end encryption (static/rooms/room/crypto.js, encrypted.js), run in
Chromium's WebCrypto as the room page runs them."""

from tests.browser.test_room_modules_js import run


def test_a_body_decrypts_only_with_its_key_its_room_and_its_client_id(page):
    outcome = run(
        page,
        "crypto.js",
        """
        const key = await m.generateKey();
        const other = await m.generateKey();
        const context = m.messageContext("ABC234", "client-1");
        const sealed = await m.encryptText(key, "meet at 8 🌙", context);
        const again = await m.encryptText(key, "meet at 8 🌙", context);
        const fails = async (promise) => promise.then(() => false, () => true);
        const flipped = m.base64ToBytes(sealed.ciphertext);
        flipped[0] ^= 1;
        return {
          text: await m.decryptText(key, sealed, context),
          ivBytes: m.base64ToBytes(sealed.iv).length,
          freshIv: sealed.iv !== again.iv && sealed.ciphertext !== again.ciphertext,
          otherKey: await fails(m.decryptText(other, sealed, context)),
          otherRoom: await fails(m.decryptText(key, sealed, m.messageContext("XYZ789", "client-1"))),
          otherMessage: await fails(m.decryptText(key, sealed, m.messageContext("ABC234", "client-2"))),
          tampered: await fails(m.decryptText(key, { ...sealed, ciphertext: m.bytesToBase64(flipped) }, context)),
          shortIv: await fails(m.decryptText(key, { ...sealed, iv: m.bytesToBase64(new Uint8Array(8)) }, context)),
        };
        """,
    )
    assert outcome == {
        "text": "meet at 8 🌙",
        "ivBytes": 12,
        "freshIv": True,
        "otherKey": True,
        "otherRoom": True,
        "otherMessage": True,
        "tampered": True,
        "shortIv": True,
    }


def test_the_key_goes_through_the_fragment_and_the_key_check_tells_the_right_key(page):
    outcome = run(
        page,
        "crypto.js",
        """
        const key = await m.generateKey();
        const text = await m.exportKey(key);
        const link = m.linkWithKey("http://h/rooms/ABC234/", text);
        const back = await m.importKey(m.keyInFragment(new URL(link).hash));
        const check = await m.makeKeyCheck(key);
        return {
          textLength: text.length,
          urlSafe: /^[A-Za-z0-9_-]+$/.test(text),
          link: link === `http://h/rooms/ABC234/#k=${text}`,
          opens: await m.opensKeyCheck(back, check),
          wrongOpens: await m.opensKeyCheck(await m.generateKey(), check),
          noKey: [m.keyInFragment(""), m.keyInFragment("#k=short"), m.keyInFragment("#x=1")],
          badImport: await m.importKey("AAAA").then(() => false, () => true),
        };
        """,
    )
    assert outcome == {
        "textLength": 43,
        "urlSafe": True,
        "link": True,
        "opens": True,
        "wrongOpens": False,
        "noKey": [None, None, None],
        "badImport": True,
    }


def test_commands_read_after_decryption_search_words_and_the_transcript(page):
    crypto = run(
        page,
        "crypto.js",
        "return ['/me waves', '/ME  jumps high', '//etc/hosts', 'plain', '/me'].map(m.readDecrypted);",
    )
    assert crypto == [
        {"body": "waves", "action": True},
        {"body": "jumps high", "action": True},
        {"body": "/etc/hosts", "action": False},
        {"body": "plain", "action": False},
        {"body": "/me", "action": False},
    ]
    encrypted = run(
        page,
        "encrypted.js",
        """
        const messages = [
          { id: 1, name: "Ann", ts: "2026-11-30T18:05:09Z", body: "Harbour at 8\\nbring snacks", action: false },
          { id: 2, name: "Bob", ts: "2026-11-30T18:06:00Z", body: "waves", action: true },
        ];
        return {
          matches: [m.matchesWords("The harbour meeting", ["harb", "MEET"]), m.matchesWords("harbour", ["bour"])],
          transcript: m.transcriptText("ABC234", messages),
        };
        """,
    )
    assert encrypted["matches"] == [True, False]
    assert encrypted["transcript"] == (
        "# Room ABC234 (end-to-end encrypted; decrypted in the browser)\n"
        "[2026-11-30 18:05 UTC] Ann: Harbour at 8\n  bring snacks\n"
        "[2026-11-30 18:06 UTC] * Bob waves\n"
    )
