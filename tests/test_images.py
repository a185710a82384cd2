"""Images in messages: uploads are sniffed, re-encoded without metadata and served to members only;
hostile files are refused with a clear error and nothing stored (docs/protocol.md, "Images")."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from rooms.models import Attachment, Message
from rooms.services.operators import purge_rooms
from rooms.services.rooms import create_room
from tests.support.ws import next_of, settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root):
    return sorted(path.name for path in Path(media_root).rglob("*") if path.is_file())


def member(room, name="Ann"):
    """A browser that joined the room (its page was shown to it)."""
    browser = Client()
    browser.post("/", {"name": name, "code": room.code, "join": ""})
    assert browser.get(f"/rooms/{room.code}/").status_code == 200
    return browser


def picture(fmt="PNG", size=(64, 48), **save):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt, **save)
    return out.getvalue()


def upload(browser, room, data, filename="picture.png", content_type="image/png"):
    return browser.post(
        f"/rooms/{room.code}/uploads/", {"file": SimpleUploadedFile(filename, data, content_type=content_type)}
    )


def test_an_upload_is_re_encoded_thumbnailed_and_served_to_members_only(media_root):
    room = create_room()
    ann = member(room)
    answer = upload(ann, room, picture("PNG", (5000, 100)))
    assert answer.status_code == 201
    image = answer.json()
    assert (image["width"], image["height"]) == (4096, 82)  # capped at 4096 px
    served = ann.get(image["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).size == (4096, 82)
    thumb = ann.get(image["thumb_url"])
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size == (320, 6)
    # Not a member of this room: no image.
    other_room = create_room()
    stranger = member(other_room, "Zed")
    assert stranger.get(image["url"]).status_code == 404
    assert Client().get(image["url"]).status_code == 404


def test_gps_and_every_other_exif_tag_are_stripped(media_root):
    room = create_room()
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 24.0), 1: "N"}  # GPSInfo
    data = picture("JPEG", exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif()  # the upload has them
    ann = member(room)
    image = upload(ann, room, data, "photo.jpg", "image/jpeg").json()
    stored = Image.open(io.BytesIO(b"".join(ann.get(image["url"]).streaming_content)))
    assert dict(stored.getexif()) == {} and "exif" not in stored.info
    assert b"SpyCam" not in b"".join(ann.get(image["url"]).streaming_content)


def png_claiming(width, height):
    """A tiny PNG whose header claims width × height pixels (a decompression bomb's shape)."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "filename", "code", "status"),
    [
        (b"<?php system($_GET['c']); ?>", "shell.png", "unsupported_image", 400),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", "unsupported_image", 400),
        (png_claiming(20000, 20000), "bomb.png", "image_too_large", 413),
        (picture("PNG")[:60], "truncated.png", "invalid_image", 400),
        (picture("BMP"), "old.bmp", "unsupported_image", 400),
    ],
)
def test_hostile_files_are_refused_and_nothing_is_stored(media_root, data, filename, code, status):
    room = create_room()
    answer = upload(member(room), room, data, filename)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert answer.json()["detail"]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(media_root, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    room = create_room()
    answer = upload(member(room), room, picture("PNG", (400, 400)) + b"\0" * 70000)
    assert (answer.status_code, answer.json()["code"]) == (413, "file_too_large")
    assert stored_files(media_root) == []


def test_uploads_are_rate_limited_per_session(media_root, settings):
    settings.UPLOAD_RATE_PER_MINUTE = 2
    room = create_room()
    ann = member(room)
    assert [upload(ann, room, picture()).status_code for _ in range(3)] == [201, 201, 429]


def test_only_members_may_upload(media_root):
    room = create_room()
    outsider = Client()
    outsider.post("/", {"name": "Eve", "create": ""})  # a name, but never shown this room
    assert upload(outsider, room, picture()).status_code == 404


async def test_a_message_carries_its_images_and_deleting_it_deletes_the_files(
    room, session_for, open_socket, media_root
):
    ann_browser = await database_sync_to_async(member)(room)
    images = [(await database_sync_to_async(upload)(ann_browser, room, picture())).json() for _ in range(2)]
    ann_key = ann_browser.cookies["sessionid"].value
    ann = await settled(await open_socket(room.code, ann_key))
    bob = await settled(await open_socket(room.code, await database_sync_to_async(session_for)("Bob")))
    ids = [image["id"] for image in images]
    await ann.send_json_to({"type": "message", "body": " ", "client_id": "a1", "attachments": ids})
    message = await next_of(bob, "message")
    assert message["body"] == "" and message["attachments"] == images
    # A resend of the same message (same client_id) is confirmed with the stored one, images and all.
    await ann.send_json_to({"type": "message", "body": " ", "client_id": "a1", "attachments": ids})
    assert (await next_of(ann, "message"))["attachments"] == images  # the live copy
    resent = await next_of(ann, "message")
    assert (resent["id"], resent["attachments"]) == (message["id"], images)
    # Sent once: not with another message, and nobody else's.
    await ann.send_json_to({"type": "message", "body": "again", "client_id": "a3", "attachments": ids})
    assert (await next_of(ann, "error"))["code"] == "attachment_not_found"
    await bob.send_json_to({"type": "message", "body": "mine", "client_id": "b1", "attachments": [images[0]["id"]]})
    assert (await next_of(bob, "error"))["code"] == "attachment_not_found"
    await ann.send_json_to({"type": "message", "body": "x", "client_id": "a2", "attachments": [1, 2, 3, 4, 5]})
    assert (await next_of(ann, "error"))["code"] == "invalid_attachments"
    history = (await (await open_socket(room.code, ann_key)).receive_json_from(timeout=3))["messages"]
    assert history[0]["attachments"] == images
    assert len(stored_files(media_root)) == 4
    await ann.send_json_to({"type": "delete", "id": message["id"]})
    changed = await next_of(bob, "message_changed")
    assert "attachments" not in changed
    assert stored_files(media_root) == []
    assert await database_sync_to_async(Attachment.objects.count)() == 0


def test_purging_a_room_deletes_its_images(media_root):
    room = create_room()
    upload(member(room), room, picture())
    assert len(stored_files(media_root)) == 2
    purge_rooms([room])
    assert stored_files(media_root) == [] and not Message.objects.exists()


def test_exports_and_transcripts_list_the_images_by_url(media_root):
    import json

    from rooms.services.messages import post_message
    from rooms.services.transfer import export_rooms

    room = create_room()
    ann = member(room)
    image = upload(ann, room, picture()).json()
    post_message(room, "Ann", "before")
    message, _ = post_message(room, "Ann", "look", session_key=ann.cookies["sessionid"].value)
    Attachment.objects.filter(id=image["id"]).update(message=message)
    exported = json.loads("".join(export_rooms([room])))["rooms"][0]["messages"]
    assert [m.get("attachments") for m in exported] == [None, [{"url": image["url"]}]]
    assert f"Ann: look\n  [image: {image['url']}]\n" in "".join(export_rooms([room], fmt="text"))
