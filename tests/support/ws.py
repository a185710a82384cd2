"""A room's websocket as a client sees it, through channels' WebsocketCommunicator (docs/protocol.md).

Reading: `receive_until` (the frames up to a matching one), `next_of` (the next frame of some types),
`joined`/`settled` (a new connection's opening frames), `refusal` (a refused connection's error and
close), `assert_no_more_messages` (what else arrives holds no message). Sending: `send`.
`room_socket` builds a communicator with the headers a browser sends.
"""

from channels.testing import WebsocketCommunicator

ORIGIN = "http://127.0.0.1:8000"


def room_socket(code, session_key=None, origin=ORIGIN, query="", app=None, watch=None):
    """A communicator (not yet connected) for room `code`'s socket, or its watch link's with `watch`:
    the host, origin and session cookie a browser on ORIGIN sends."""
    from chatsite.asgi import application

    headers = [(b"host", b"127.0.0.1:8000")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    path = f"/ws/rooms/{code}/" + (f"watch/{watch}/" if watch else "") + (f"?{query}" if query else "")
    return WebsocketCommunicator(app or application, path, headers=headers)


async def receive_until(communicator, frame_type, timeout=2, **match):
    """Frames up to and including the first of `frame_type` whose fields equal `match`."""
    seen = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        seen.append(frame)
        if frame["type"] == frame_type and all(frame.get(k) == v for k, v in match.items()):
            return frame, seen


async def next_of(communicator, *types, timeout=3):
    """The next frame whose type is one of `types`; frames of other types are skipped."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] in types:
            return frame


async def read_opening(communicator, timeout=3):
    """Read a new connection's opening frames: its history (always the first frame), then up to its
    own presence update. Returns the history frame."""
    history = await communicator.receive_json_from(timeout=timeout)
    assert history["type"] == "history"
    await receive_until(communicator, "presence", timeout=timeout)
    return history


async def settled(communicator):
    """`communicator` once it has joined (its opening frames read): `await settled(await open_socket(...))`."""
    await read_opening(communicator)
    return communicator


async def joined(open_socket, code, session_key=None, **kwargs):
    """Connect through the `open_socket` fixture and read the opening frames; returns the
    communicator and its history frame."""
    communicator = await open_socket(code, session_key, **kwargs)
    return communicator, await read_opening(communicator)


async def refusal(communicator, timeout=3):
    """A refused connection's answer: an error frame with a detail, then the close. Returns the error
    frame and the close code."""
    frame = await communicator.receive_json_from(timeout=timeout)
    closed = await communicator.receive_output(timeout=timeout)
    assert frame["type"] == "error" and frame["detail"]
    assert closed["type"] == "websocket.close"
    return frame, closed["code"]


async def assert_no_more_messages(communicator, quiet=0.3):
    """Drain what else arrives until `quiet` seconds pass without a frame (presence, joins, …) and
    check that no message is among it, neither live nor in a history page."""
    while not await communicator.receive_nothing(timeout=quiet):
        frame = await communicator.receive_json_from()
        assert frame["type"] != "message", frame
        assert not frame.get("messages"), frame


async def send(communicator, body, client_id=None):
    """Send a chat message frame (with `client_id` if given)."""
    frame = {"type": "message", "body": body}
    if client_id:
        frame["client_id"] = client_id
    await communicator.send_json_to(frame)
