"""End-to-end encrypted rooms on the server (docs/e2ee.md): what it checks of ciphertexts it cannot
read, what it refuses, and that it stores, relays, exports and shows no plaintext."""

import base64
import json
import os

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from rooms.errors import ChatError
from rooms.limits import ciphertext_max_bytes
from rooms.models import Message, Room
from rooms.services.bots import create_bot_token
from rooms.services.encryption import check_ciphertext, check_key_check, decode_base64
from rooms.services.moderation import new_owner_key
from rooms.services.rooms import create_room
from rooms.services.transfer import export_rooms
from tests.support.home_form import post_home
from tests.support.ws import next_of, receive_until, settled

pytestmark = pytest.mark.django_db(transaction=True)


def b64(raw):
    return base64.b64encode(raw).decode()


def sealed(size=40):
    """A well-formed (ciphertext, iv) pair: the server cannot tell it from a real one, nor should it."""
    return b64(os.urandom(size)), b64(os.urandom(12))


def encrypted_room():
    return create_room(key_check=sealed(34))


def make_session(name):
    store = SessionStore()
    store["name"] = name
    store.create()
    return store.session_key


async def member(open_socket, room, name="Ann"):
    return await settled(await open_socket(room.code, await database_sync_to_async(make_session)(name)))


def message_frame(client_id="c1", **fields):
    ciphertext, iv = sealed()
    return {"type": "message", "ciphertext": ciphertext, "iv": iv, "client_id": client_id, **fields}


async def refused(communicator, frame):
    await communicator.send_json_to(frame)
    return await next_of(communicator, "error")


# --- the shape of what is stored and relayed ---------------------------------------------------


async def test_an_encrypted_message_is_stored_and_relayed_as_ciphertext_with_an_empty_body(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann, bob = await member(open_socket, room), await member(open_socket, room, "Bob")
    frame = message_frame("first")
    await ann.send_json_to(frame)
    for communicator in (ann, bob):
        relayed = await next_of(communicator, "message")
        assert (relayed["body"], relayed["ciphertext"], relayed["iv"]) == ("", frame["ciphertext"], frame["iv"])
        assert relayed["client_id"] == "first"
    stored = await database_sync_to_async(Message.objects.get)(room=room)
    assert (stored.body, stored.ciphertext, stored.iv) == ("", frame["ciphertext"], frame["iv"])
    # A fresh connection's history carries it the same way.
    later = await open_socket(room.code, await database_sync_to_async(make_session)("Cy"))
    history = await later.receive_json_from()
    assert [(m["body"], m["ciphertext"]) for m in history["messages"]] == [("", frame["ciphertext"])]


async def test_a_resend_of_the_same_client_id_is_stored_once(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    first = message_frame("same")
    await ann.send_json_to(first)
    await next_of(ann, "message")
    await ann.send_json_to(message_frame("same"))  # re-encrypted with a new iv after a reconnect
    echo = await next_of(ann, "message")
    assert echo["ciphertext"] == first["ciphertext"]
    assert await database_sync_to_async(Message.objects.filter(room=room).count)() == 1


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ciphertext": "not base64!"}, "invalid_ciphertext"),
        ({"ciphertext": "QUJD"}, "invalid_ciphertext"),  # 3 bytes: shorter than the GCM tag
        ({"ciphertext": b64(os.urandom(40))[:-2]}, "invalid_ciphertext"),  # padding cut off
        ({"ciphertext": 17}, "invalid_ciphertext"),
        ({"iv": b64(os.urandom(16))}, "invalid_iv"),
        ({"iv": b64(os.urandom(8))}, "invalid_iv"),
        ({"iv": "%%%%%%%%%%%%%%%%"}, "invalid_iv"),
        ({"iv": None}, "invalid_iv"),
        ({"body": "hello in the clear"}, "encrypted_room"),
        ({"client_id": None}, "invalid_client_id"),
    ],
)
async def test_malformed_encrypted_messages_are_refused_and_nothing_is_stored(open_socket, change, code):
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    frame = {key: value for key, value in {**message_frame("bad"), **change}.items() if value is not None}
    error = await refused(ann, frame)
    assert error["code"] == code and error["detail"]
    assert await database_sync_to_async(Message.objects.filter(room=room).exists)() is False


async def test_an_oversize_ciphertext_is_refused(open_socket, settings):
    settings.MESSAGE_MAX_CHARS = 500  # the limit follows the body's (and keeps the frame small)
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    ciphertext = b64(os.urandom(ciphertext_max_bytes() + 1))
    error = await refused(ann, {**message_frame("big"), "ciphertext": ciphertext})
    assert error["code"] == "message_too_long" and error["client_id"] == "big"
    await ann.send_json_to({**message_frame("fits"), "ciphertext": b64(os.urandom(ciphertext_max_bytes()))})
    assert (await next_of(ann, "message"))["client_id"] == "fits"


async def test_a_plaintext_body_in_an_encrypted_room_is_refused_with_a_clear_error(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    error = await refused(ann, {"type": "message", "body": "secret plans", "client_id": "p1"})
    assert error["code"] == "encrypted_room"
    assert "end-to-end encrypted" in error["detail"] and error["client_id"] == "p1"
    assert await database_sync_to_async(Message.objects.filter(room=room).exists)() is False


async def test_ciphertext_in_a_plain_room_is_refused(open_socket):
    room = await database_sync_to_async(create_room)()
    ann = await member(open_socket, room)
    error = await refused(ann, message_frame("x"))
    assert error["code"] == "not_encrypted" and "not end-to-end encrypted" in error["detail"]
    await ann.send_json_to({"type": "message", "body": "plain still works", "client_id": "y"})
    assert (await next_of(ann, "message"))["body"] == "plain still works"


async def test_images_are_refused_in_an_encrypted_room(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    error = await refused(ann, message_frame("img", attachments=[1]))
    assert error["code"] == "encrypted_room" and "Images" in error["detail"]


async def test_search_is_refused_in_an_encrypted_room(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    error = await refused(ann, {"type": "search", "q": "plans"})
    assert error["code"] == "encrypted_room" and error["q"] == "plans"
    assert "cannot search" in error["detail"]


# --- edits, replies, reactions, deletions ------------------------------------------------------


async def test_edits_replace_the_ciphertext_and_refuse_plaintext(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann = await member(open_socket, room)
    await ann.send_json_to(message_frame("e1"))
    message_id = (await next_of(ann, "message"))["id"]
    error = await refused(ann, {"type": "edit", "id": message_id, "body": "in the clear"})
    assert error["code"] == "encrypted_room"
    error = await refused(ann, {"type": "edit", "id": message_id, "ciphertext": "QUJD", "iv": sealed()[1]})
    assert error["code"] == "invalid_ciphertext"
    ciphertext, iv = sealed()
    await ann.send_json_to({"type": "edit", "id": message_id, "ciphertext": ciphertext, "iv": iv})
    changed = await next_of(ann, "message_changed")
    assert (changed["body"], changed["ciphertext"], changed["iv"]) == ("", ciphertext, iv)
    assert changed["edited"]
    stored = await database_sync_to_async(Message.objects.get)(pk=message_id)
    assert (stored.body, stored.ciphertext, stored.iv) == ("", ciphertext, iv)


async def test_a_plain_room_refuses_an_edit_with_ciphertext(open_socket):
    room = await database_sync_to_async(create_room)()
    ann = await member(open_socket, room)
    await ann.send_json_to({"type": "message", "body": "hi", "client_id": "p"})
    message_id = (await next_of(ann, "message"))["id"]
    ciphertext, iv = sealed()
    error = await refused(ann, {"type": "edit", "id": message_id, "ciphertext": ciphertext, "iv": iv})
    assert error["code"] == "not_encrypted"


async def test_replies_reactions_and_deletions_work_without_plaintext(open_socket):
    room = await database_sync_to_async(encrypted_room)()
    ann, bob = await member(open_socket, room), await member(open_socket, room, "Bob")
    await ann.send_json_to(message_frame("parent"))
    parent_id = (await next_of(bob, "message"))["id"]
    await bob.send_json_to(message_frame("child", reply_to=parent_id))
    reply, _ = await receive_until(ann, "message", client_id="child")
    # No excerpt: the server cannot make one; the page quotes the parent it decrypted.
    assert reply["reply_to"] == {"id": parent_id, "name": "Ann", "excerpt": "", "encrypted": True}
    await bob.send_json_to({"type": "react", "id": parent_id, "emoji": "👍"})
    reacted = await next_of(ann, "message_changed")
    assert reacted["reactions"][0]["emoji"] == "👍" and reacted["ciphertext"]
    await ann.send_json_to({"type": "delete", "id": parent_id})
    deleted, _ = await receive_until(bob, "message_changed", deleted=True)
    assert deleted["deleted"] and "ciphertext" not in deleted and deleted["body"] == ""
    stored = await database_sync_to_async(Message.objects.get)(pk=parent_id)
    assert (stored.ciphertext, stored.iv) == ("", "")


# --- creating one, and what operators and exports see -------------------------------------------


def test_the_home_form_creates_an_encrypted_room_with_the_browsers_key_check(client):
    ciphertext, iv = sealed(34)
    response = post_home(client, name="Ann", create="", encrypted="on", key_check=ciphertext, key_check_iv=iv)
    assert response.status_code == 302
    room = Room.objects.get(code=response.url.split("/")[2])
    assert (room.encrypted, room.key_check, room.key_check_iv) == (True, ciphertext, iv)
    config = client.get(response.url).context["config"]
    assert config["encryption"] == {"key_check": ciphertext, "key_check_iv": iv}


def test_without_javascript_no_keyless_encrypted_room_is_made(client):
    response = post_home(client, name="Ann", title="Plans", create="", encrypted="on")
    assert response.status_code == 200
    assert "Turn JavaScript on" in response.content.decode()
    assert not Room.objects.exists()
    # The typed values stay.
    assert 'value="Plans"' in response.content.decode()


def test_a_plain_room_page_has_no_encryption(client):
    response = post_home(client, name="Ann", create="")
    assert client.get(response.url).context["config"]["encryption"] is None


def test_key_checks_and_base64_are_checked_strictly():
    assert decode_base64("QUJD") == b"ABC"
    for bad in ("QUJ", "QUJD\n", "QU JD", "QUJE=", "ＱＵＪＤ", None, 5):
        assert decode_base64(bad) is None
    with pytest.raises(Exception, match="JavaScript"):
        check_key_check("", "")
    with pytest.raises(Exception, match="at most 64"):
        check_key_check(*sealed(65))
    assert check_ciphertext(*sealed(16)) is not None


def test_exports_and_the_admin_hold_ciphertext_not_bodies(admin_client):
    from rooms.services.messages import check_new_message, store_messages

    room = encrypted_room()
    ciphertext, iv = sealed()
    store_messages([check_new_message(room, "Ann", None, "m1", "sess", sealed=(ciphertext, iv))])
    exported = json.loads("".join(export_rooms([room])))
    (entry,) = exported["rooms"][0]["messages"]
    assert (entry["body"], entry["ciphertext"], entry["iv"]) == ("", ciphertext, iv)
    assert exported["rooms"][0]["encrypted"] is True
    text = "".join(export_rooms([room], fmt="text"))
    assert f"[encrypted] iv={iv} ciphertext={ciphertext}" in text
    message = Message.objects.get(room=room)
    page = admin_client.get(f"/admin/rooms/message/{message.pk}/change/").content.decode()
    assert "encrypted" in page
    listing = admin_client.get("/admin/rooms/message/").content.decode()
    assert "encrypted" in listing


def test_image_uploads_to_an_encrypted_room_are_refused_and_nothing_is_stored(settings, tmp_path):
    from tests.test_images import member, picture, upload

    settings.MEDIA_ROOT = tmp_path / "media"
    room = encrypted_room()
    answer = upload(member(room), room, picture())
    assert answer.status_code == 400 and answer.json()["code"] == "encrypted_room"
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))


def test_bots_and_webhooks_are_refused_in_an_encrypted_room():
    room = encrypted_room()
    with pytest.raises(ChatError) as refused:
        create_bot_token(room, new_owner_key(room), "CI")
    assert refused.value.code == "encrypted_room"
    # A token that exists anyway (say, made before an operator flagged the room) posts nothing.
    plain = create_room()
    _bot, token = create_bot_token(plain, new_owner_key(plain), "CI")
    Room.objects.filter(pk=plain.pk).update(encrypted=True)
    api = Client().post(
        f"/api/v1/rooms/{plain.code}/messages",
        '{"body": "hello"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    hook = Client().post(f"/hooks/{token}", '{"text": "hello"}', content_type="application/json")
    assert (api.status_code, api.json()["error"]) == (403, "encrypted_room")
    assert (hook.status_code, hook.json()["error"]) == (403, "encrypted_room")
    assert not Message.objects.filter(room=plain).exists()
