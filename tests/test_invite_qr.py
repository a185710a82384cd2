"""The invite QR code: GET /rooms/<CODE>/qr.svg draws the room's invite link (docs/protocol.md)."""

import io

import pytest
import segno

from rooms.services.rooms import create_room

pytestmark = pytest.mark.django_db


def test_the_qr_code_is_an_svg_of_the_room_s_invite_link(client, settings):
    settings.ALLOWED_HOSTS = ["chat.example.org"]  # the link is the address the page was opened at
    room = create_room()
    response = client.get(f"/rooms/{room.code.lower()}/qr.svg", HTTP_HOST="chat.example.org")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<script" not in svg
    assert f"Invite to room {room.code}" in svg
    # The same drawing segno makes of the link a phone should open.
    expected = io.BytesIO()
    link = f"http://chat.example.org/rooms/{room.code}/"
    segno.make(link, error="m").save(
        expected, kind="svg", scale=8, border=2, xmldecl=False, title=f"Invite to room {room.code}"
    )
    assert response.content == expected.getvalue()


def test_an_unknown_room_has_no_qr_code_and_counts_as_a_miss(client, settings):
    settings.JOIN_MISS_LIMIT = 2
    assert client.get("/rooms/QQQQQQ/qr.svg").status_code == 404
    assert client.get("/rooms/QQQQQR/qr.svg").status_code == 404
    room = create_room()
    # Over the limit, even a real code is refused, so the QR code cannot tell real codes from others.
    assert client.get(f"/rooms/{room.code}/qr.svg").status_code == 403
