"""Hostile and malformed input: every bad frame or connection gets a clear `error` frame or close
code, nothing is stored, and well-behaved members of the same room keep chatting."""

import asyncio
import json
import unicodedata

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms.models import Message
from rooms.realtime.hub import stop_hubs
from rooms.services.messages import post_message
from rooms.services.watch import set_watch_link
from tests.support.database import stored_bodies
from tests.support.ws import ORIGIN, next_of, refusal, room_socket, settled

pytestmark = pytest.mark.django_db(transaction=True)

TOO_BIG = 16 * 1024 + 1

# (what the client sends, the error code it gets). Text frames unless the payload is bytes.
BAD_FRAMES = [
    ("not json", "invalid_json"),
    ("", "invalid_json"),
    ("{", "invalid_json"),
    ('{"type": "message", "body": "unterminated', "invalid_json"),
    ("[" * 10_000, "invalid_json"),  # nested deeper than the parser's recursion limit
    ("[]", "invalid_frame"),
    ('[{"type": "message", "body": "in an array"}]', "invalid_frame"),
    ('"message"', "invalid_frame"),
    ("42", "invalid_frame"),
    ("-1.5e3", "invalid_frame"),
    ("null", "invalid_frame"),
    ("true", "invalid_frame"),
    ("{}", "unknown_type"),
    ('{"type": null}', "unknown_type"),
    ('{"type": 7}', "unknown_type"),
    ('{"type": ["message"]}', "unknown_type"),
    ('{"type": {"x": 1}}', "unknown_type"),
    ('{"type": "MESSAGE", "body": "hi"}', "unknown_type"),
    ('{"type": "presence"}', "unknown_type"),  # server-to-client types are not commands
    ('{"type": "history"}', "invalid_before"),  # a history page needs the id it ends before
    ('{"type": "error", "code": "x"}', "unknown_type"),
    ('{"type": "\\u0000"}', "unknown_type"),
    ('{"type": "\\ud800"}', "unknown_type"),
    ('{"type": "message"}', "invalid_message"),
    ('{"type": "message", "body": null}', "invalid_message"),
    ('{"type": "message", "body": 5}', "invalid_message"),
    ('{"type": "message", "body": NaN}', "invalid_message"),
    ('{"type": "message", "body": ["hi"]}', "invalid_message"),
    ('{"type": "message", "body": {"text": "hi"}}', "invalid_message"),
    ('{"type": "message", "body": true}', "invalid_message"),
    ('{"type": "message", "body": "hi", "body": 5}', "invalid_message"),  # the last duplicate wins
    ('{"type": "message", "body": "nul\\u0000byte"}', "invalid_message"),
    ('{"type": "message", "body": "bell\\u0007"}', "invalid_message"),
    ('{"type": "message", "body": "\\u001b[31mred"}', "invalid_message"),
    ('{"type": "message", "body": "del\\u007f"}', "invalid_message"),
    ('{"type": "message", "body": "c1 \\u0085 next line"}', "invalid_message"),
    ('{"type": "message", "body": "cr\\r\\u0000"}', "invalid_message"),
    ('{"type": "message", "body": "lone \\ud800 surrogate"}', "invalid_message"),
    ('{"type": "message", "body": "   \\n\\t  "}', "empty_message"),
    ('{"type": "message", "body": ""}', "empty_message"),
    (json.dumps({"type": "message", "body": "x" * 2001}), "message_too_long"),
    ('{"type": "message", "body": "hi", "client_id": 7}', "invalid_client_id"),
    ('{"type": "message", "body": "hi", "client_id": 1e400}', "invalid_client_id"),
    ('{"type": "message", "body": "hi", "client_id": ""}', "invalid_client_id"),
    ('{"type": "message", "body": "hi", "client_id": ["a"]}', "invalid_client_id"),
    (json.dumps({"type": "message", "body": "hi", "client_id": "k" * 65}), "invalid_client_id"),
    ('{"type": "message", "body": "hi", "client_id": "a\\u0000b"}', "invalid_client_id"),
    ('{"type": "message", "body": "hi", "client_id": "\\udfff"}', "invalid_client_id"),
    ('{"type": "message", "body": "hi", "admin": true}', "invalid_frame"),
    ('{"type": "message", "body": "hi", "\\ud800": 1}', "invalid_frame"),  # field name is not sendable text
    ('{"type": "message", "body": "hi", "\\u0000": 1}', "invalid_frame"),
    ('{"type": "ping", "extra": 1}', "invalid_frame"),
    (json.dumps({"type": "message", "body": "x" * TOO_BIG}), "frame_too_large"),
    (json.dumps({"type": "message", "body": "€" * 6000}, ensure_ascii=False), "frame_too_large"),  # 18 KB
    ("x" * TOO_BIG, "frame_too_large"),
    (b"", "binary_not_supported"),
    (b"\x00\xff\xfe", "binary_not_supported"),
    (b'{"type": "message", "body": "as bytes"}', "binary_not_supported"),
]


async def send_raw(communicator, payload):
    # Straight to the application: the communicator's send_to refuses empty frames.
    key = "bytes" if isinstance(payload, bytes) else "text"
    await communicator.send_input({"type": "websocket.receive", key: payload})


@pytest.mark.parametrize(("payload", "code"), BAD_FRAMES, ids=[f"{i}-{c}" for i, (_, c) in enumerate(BAD_FRAMES)])
async def test_a_bad_frame_gets_a_clear_error_and_the_room_keeps_chatting(
    payload, code, room, session_for, open_socket
):
    ann, mallory = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Mallory")]
    ann_socket = await settled(await open_socket(room.code, ann))
    mallory_socket = await settled(await open_socket(room.code, mallory))

    await send_raw(mallory_socket, payload)
    error = await next_of(mallory_socket, "error", "message")
    assert error["type"] == "error"
    assert error["code"] == code
    assert isinstance(error["detail"], str) and len(error["detail"]) > 10
    assert await stored_bodies(room.code) == []

    # Ann notices nothing and keeps chatting; Mallory's connection is still open and hears her.
    await ann_socket.send_json_to({"type": "message", "body": "still fine", "client_id": "ann-1"})
    assert (await next_of(ann_socket, "message"))["body"] == "still fine"
    assert (await next_of(mallory_socket, "message"))["body"] == "still fine"
    assert await stored_bodies(room.code) == ["still fine"]


async def test_a_stream_of_bad_frames_never_breaks_the_connection(room, session_for, open_socket, settings):
    settings.MESSAGE_RATE_BURST = 1000  # bad messages count against the rate too; here only errors matter
    mallory = await database_sync_to_async(session_for)("Mallory")
    communicator = await settled(await open_socket(room.code, mallory))
    for payload, _ in BAD_FRAMES:
        await send_raw(communicator, payload)
    codes = [(await next_of(communicator, "error", "message"))["code"] for _ in BAD_FRAMES]
    assert codes == [code for _, code in BAD_FRAMES]
    await communicator.send_json_to({"type": "message", "body": "finally valid"})
    assert (await next_of(communicator, "message"))["body"] == "finally valid"
    assert await stored_bodies(room.code) == ["finally valid"]


def sendable(frame):
    """Whether a frame can go out as UTF-8, as a real server must send it (the test communicator
    passes text through without encoding it)."""
    try:
        json.dumps(frame, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "kick", "name": "\ud800"}, "invalid_name"),
        ({"type": "mute", "name": "Bob\udfff", "minutes": 5}, "invalid_name"),
        ({"type": "transfer", "to": "\udc00Bob"}, "invalid_name"),
        ({"type": "passphrase", "passphrase": "pass\ud800"}, "invalid_passphrase"),
        ({"type": "rename", "name": "\ud800"}, "invalid_name"),
        ({"type": "react", "id": 1, "emoji": "\ud83d"}, "invalid_reaction"),
        ({"type": "edit", "id": 1, "body": "\ud800"}, "invalid_message"),
        ({"type": "history", "before": "\ud800"}, "invalid_frame"),
        ({"type": "message", "body": "hi", "client_id": "\udfff"}, "invalid_client_id"),
        ({"type": "lock", "locked": ["\ud800"]}, "invalid_frame"),
    ],
)
async def test_lone_surrogates_in_any_field_get_an_error_and_the_connection_lives(frame, code, owned_room, open_socket):
    room, _, session = owned_room
    ada = await database_sync_to_async(session)("Ada", owner=True)
    owner = await settled(await open_socket(room.code, ada))
    bob = await settled(await open_socket(room.code, await database_sync_to_async(session)("Bob")))
    await owner.send_to(text_data=json.dumps(frame))  # escaped, as JSON.stringify sends them
    error = await next_of(owner, "error")
    assert error["code"] == code and sendable(error), error
    # The connection still hears and speaks, and nobody is left behind as a ghost.
    await owner.send_json_to({"type": "message", "body": "still here"})
    assert (await next_of(owner, "message"))["body"] == "still here"
    assert (await next_of(bob, "message"))["body"] == "still here"


async def test_a_connection_killed_by_a_bug_leaves_no_ghost_member(room, session_for, open_socket, monkeypatch):
    from rooms.models import Presence
    from rooms.realtime.consumers import chat

    ann, bob = [await database_sync_to_async(session_for)(n) for n in ("Ann", "Bob")]
    ann_socket = await settled(await open_socket(room.code, ann))
    bob_socket = await settled(await open_socket(room.code, bob))
    await next_of(ann_socket, "presence")

    def broken(frame):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(chat, "encode", broken)  # receive_ping encodes its pong
    await bob_socket.send_json_to({"type": "ping"})
    with pytest.raises(RuntimeError):
        await bob_socket.receive_output(timeout=2)
    leave = await next_of(ann_socket, "system", timeout=5)
    assert (leave["event"], leave["name"]) == ("leave", "Bob")
    names = await database_sync_to_async(lambda: sorted(Presence.objects.values_list("name", flat=True)))()
    assert names == ["Ann"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown room", ("room_not_found", 4004)),
        ("absurdly long room code", ("room_not_found", 4004)),
        ("no session cookie", ("no_name", 4001)),
        ("a session that does not exist", ("no_name", 4001)),
        ("a session without a name", ("no_name", 4001)),
        ("foreign origin", ("forbidden_origin", 4003)),
        ("origin of a look-alike host", ("forbidden_origin", 4003)),
        ("no origin", ("forbidden_origin", 4003)),
        ("garbage origin", ("forbidden_origin", 4003)),
    ],
)
async def test_hostile_connections_are_refused_with_a_reason_and_store_nothing(
    case, expected, room, session_for, open_socket
):
    from django.contrib.sessions.backends.db import SessionStore

    ann = await database_sync_to_async(session_for)("Ann")
    ann_socket = await settled(await open_socket(room.code, ann))
    code, key, origin = room.code, ann, ORIGIN
    if case == "unknown room":
        code = "ZZZZZZ"
    elif case == "absurdly long room code":
        code = "A" * 5000
    elif case == "no session cookie":
        key = None
    elif case == "a session that does not exist":
        key = "x" * 32
    elif case == "a session without a name":

        def nameless():
            store = SessionStore()
            store.create()
            return store.session_key

        key = await database_sync_to_async(nameless)()
    elif case == "foreign origin":
        origin = "http://evil.example"
    elif case == "origin of a look-alike host":
        origin = "http://127.0.0.1.evil.example"
    elif case == "no origin":
        origin = None
    elif case == "garbage origin":
        origin = "http://[::1"
    communicator = await open_socket(code, key, origin=origin)
    frame, close_code = await refusal(communicator)
    assert (frame["code"], close_code) == expected
    # Frames sent on a refused connection do nothing.
    await communicator.send_json_to({"type": "message", "body": "sneaky"})
    await ann_socket.send_json_to({"type": "message", "body": "unbothered"})
    assert (await next_of(ann_socket, "message"))["body"] == "unbothered"
    assert await stored_bodies(room.code) == ["unbothered"]


@pytest.mark.parametrize(
    ("after", "answer"),
    [
        ("abc", "fresh"),
        ("-1", "fresh"),
        ("1e3", "fresh"),
        ("", "fresh"),
        ("0x10", "fresh"),
        ("9" * 5000, "fresh"),  # longer than Python parses as an int
        ("9" * 30, "nothing newer"),  # beyond any 64-bit id
        ("0&after=x", "everything"),  # the first value counts
    ],
)
async def test_a_nonsense_resume_point_still_connects(after, answer, room, session_for, open_socket):
    await database_sync_to_async(post_message)(room, "Ann", "kept")
    ann = await database_sync_to_async(session_for)("Ann")
    communicator = await open_socket(room.code, ann, query=f"after={after}")
    history = await communicator.receive_json_from(timeout=3)
    assert history["type"] == "history"
    bodies = [m["body"] for m in history["messages"]]
    if answer == "fresh":  # not a resume point: a new connection's history
        assert bodies == ["kept"] and "after" not in history
    elif answer == "nothing newer":
        assert bodies == [] and history["complete"] is True
    else:
        assert bodies == ["kept"] and history["after"] == 0 and history["complete"] is True


# --- property: any text within the limits round-trips exactly ---------------------------------

ALLOWED_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cc", "Cs")),  # everything printable, any plane
        st.sampled_from("\n\t "),
    ),
    min_size=1,
    max_size=2000,
)


def expected_body(text):
    """The documented rule: CR LF and CR become LF, surrounding whitespace is trimmed."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def classify(text):
    """The error code the server must answer `text` with, or None when it must be stored."""
    body = expected_body(text)
    if not body:
        return "empty_message"
    if len(body) > django_settings.MESSAGE_MAX_CHARS:
        return "message_too_long"
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in body):
        return "invalid_message"
    return None


async def send_one_body(room_code, session_key, text, ensure_ascii):
    """Connect, send `text` as a message, and return the answer frame and the stored row (or None)."""
    communicator = room_socket(room_code, session_key)
    try:
        assert (await communicator.connect())[0]
        await settled(communicator)
        # Text starting with "/" is sent escaped as "//", as a client must to keep it from being
        # read as a slash command (docs/protocol.md, "Slash commands").
        body = "/" + text.lstrip() if text.strip().startswith("/") else text
        frame = {"type": "message", "body": body, "client_id": "property"}
        await communicator.send_to(text_data=json.dumps(frame, ensure_ascii=ensure_ascii))
        answer = await next_of(communicator, "message", "error")
        row = await database_sync_to_async(
            lambda: Message.objects.filter(room__code=room_code, client_id="property").first()
        )()
        if row is not None:
            await database_sync_to_async(row.delete)()
        return answer, row
    finally:
        await communicator.disconnect()
        await stop_hubs()


@pytest.fixture
def room_and_key(room, session_for):
    return room.code, session_for("Ann")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ALLOWED_TEXT)
def test_any_printable_unicode_body_is_stored_and_echoed_exactly(room_and_key, text):
    # Sent like a browser sends it (JSON.stringify does not escape non-ASCII).
    answer, row = asyncio.run(send_one_body(*room_and_key, text, ensure_ascii=False))
    expected = expected_body(text)
    if not expected:
        assert (answer["type"], answer["code"], row) == ("error", "empty_message", None)
        return
    assert answer["type"] == "message", answer
    assert answer["body"] == expected
    assert row.body == expected
    assert answer["client_id"] == "property"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=1300))
def test_any_text_at_all_is_stored_exactly_or_refused_with_the_right_code(room_and_key, text):
    # Any code point, control characters, NUL and lone surrogates included (escaped as JSON does).
    answer, row = asyncio.run(send_one_body(*room_and_key, text, ensure_ascii=True))
    refusal = classify(text)
    if refusal is None:
        assert answer["type"] == "message", answer
        assert answer["body"] == row.body == expected_body(text)
    else:
        assert (answer["type"], answer["code"], row) == ("error", refusal, None)


async def test_a_watcher_sending_bad_frames_gets_errors_and_keeps_reading(owned_room, open_socket, settings):
    """The read-only watch link's socket takes the same corpus: an error for each, nothing stored,
    still connected and still reading."""
    settings.MESSAGE_RATE_BURST = 1000
    room, key, session = owned_room
    token = await database_sync_to_async(set_watch_link)(room, key, True)
    watcher = await settled(await open_socket(room.code, watch=token))
    for payload, _ in BAD_FRAMES:
        await send_raw(watcher, payload)
    for payload, code in BAD_FRAMES:
        error = await next_of(watcher, "error", "message")
        assert error["type"] == "error" and error["detail"], payload
        # Frame-level problems are reported as such; a well-formed member frame is read_only.
        assert error["code"] in (code, "read_only"), payload
    ann = await settled(await open_socket(room.code, await database_sync_to_async(session)("Ann")))
    await ann.send_json_to({"type": "message", "body": "watched", "client_id": "ann-1"})
    assert (await next_of(watcher, "message"))["body"] == "watched"
    assert await stored_bodies(room.code) == ["watched"]
