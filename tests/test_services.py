import pytest
from django.test import override_settings

from rooms.errors import ChatError
from rooms.limits import CODE_ALPHABET
from rooms.models import Message, Room
from rooms.services.messages import NewMessage, post_message, recent_history, store_messages
from rooms.services.presence import (
    add_presence,
    beat_heart,
    check_name_free,
    expire_stale_servers,
    remove_presence,
    rename_member,
    room_members,
    settle_departures,
)
from rooms.services.rooms import create_room, find_room
from rooms.validation import check_name
from tests.support.database import be_online

pytestmark = pytest.mark.django_db


def test_codes_avoid_look_alike_characters_and_follow_the_length_setting():
    for character in "0O1I":
        assert character not in CODE_ALPHABET
    with override_settings(ROOM_CODE_LENGTH=8):
        assert len(create_room().code) == 8


def test_find_room_ignores_case_and_spaces():
    room = create_room()
    assert find_room(f" {room.code.lower()}\t") == room
    assert find_room("") is None


def test_create_room_with_a_taken_code_is_refused():
    create_room(code="ABCDEF")
    with pytest.raises(ChatError) as error:
        create_room(code="abcdef")
    assert error.value.code == "code_taken"


@pytest.mark.parametrize("name", ["", "   ", "x" * 33, "tab\there", None, 5])
def test_invalid_names_are_refused(name):
    with pytest.raises(ChatError):
        check_name(name)


def test_names_are_trimmed():
    assert check_name("  Zoë  ") == "Zoë"
    assert check_name("x" * 32) == "x" * 32


def test_post_message_trims_and_keeps_inner_line_breaks():
    room = create_room()
    message, created = post_message(room, "Ann", "  line one\r\nline two  ")
    assert created
    assert message.body == "line one\nline two"


def test_history_pages_backwards_oldest_first():
    room = create_room()
    ids = [post_message(room, "Ann", f"m{n}")[0].id for n in range(7)]
    page, has_more = recent_history(room, limit=3)
    assert [m.id for m in page] == ids[4:] and has_more
    page, has_more = recent_history(room, before=ids[4], limit=3)
    assert [m.id for m in page] == ids[1:4] and has_more
    page, has_more = recent_history(room, before=ids[1], limit=3)
    assert [m.id for m in page] == ids[:1] and not has_more


def test_repeated_client_id_is_stored_once_per_room():
    room, other = create_room(), create_room()
    first, created = post_message(room, "Ann", "hi", client_id="abc")
    again, created_again = post_message(room, "Ann", "hi", client_id="abc")
    elsewhere, created_elsewhere = post_message(other, "Ann", "hi", client_id="abc")
    assert created and not created_again and created_elsewhere
    assert again.id == first.id
    assert Message.objects.count() == 2


def test_presence_counts_sessions_and_expires_with_a_silent_process(settings):
    room = create_room()
    beat_heart("server-a")
    assert add_presence(room, "server-a", "c1", "Ann", "s1") is True
    assert add_presence(room, "server-a", "c2", "Ann", "s1") is False
    assert add_presence(room, "server-a", "c3", "bob", "s2") is True
    assert room_members(room) == ["Ann", "bob"]
    remove_presence("c1")
    assert settle_departures(room) == {}  # Ann is still here through c2
    remove_presence("c3")
    assert settle_departures(room) == {room.code: {"bob"}}
    assert room_members(room) == ["Ann"]
    settings.PRESENCE_STALE_SECONDS = -1  # every heartbeat is now stale
    assert room_members(room) == []
    assert expire_stale_servers() == {room.code: {"Ann"}}


def test_a_rename_to_another_present_members_name_is_refused(session_for, settings):
    settings.PRESENCE_GRACE_SECONDS = 30
    room = create_room()
    beat_heart("server-a")
    ann, bob = session_for("Ann"), session_for("Bob")
    add_presence(room, "server-a", "c1", "Ann", ann)
    add_presence(room, "server-a", "c2", "Bob", bob)
    remove_presence("c2")  # Bob's page is reloading: within the grace period his name stays his
    for taken in ("Bob", " bob ", "ＢＯＢ"):
        with pytest.raises(ChatError) as refused:
            rename_member(ann, taken)
        assert refused.value.code == "name_taken"
        assert (
            refused.value.detail
            == f"Someone in this room is already called {taken.strip()}; please choose another name."
        )
    assert room_members(room) == ["Ann", "Bob"]
    assert rename_member(ann, "ANN")[1] == "ANN"  # her own name, in other letters
    settings.PRESENCE_GRACE_SECONDS = 0  # Bob is gone for good
    assert rename_member(ann, "Bob")[1] == "Bob"


# Real commits: the foreign key is only checked when the transaction commits (deferred on SQLite).
@pytest.mark.django_db(transaction=True)
def test_a_message_for_a_room_removed_meanwhile_is_refused_without_harming_the_batch():
    doomed = create_room()
    other = create_room()
    Room.objects.filter(pk=doomed.pk).delete()  # purged while its message waited for the writer
    entries = [NewMessage(doomed, "Ann", "hello", "c-1", ""), NewMessage(other, "Bob", "hi", "c-2", "")]
    refused, (stored, created) = store_messages(entries)
    assert isinstance(refused, ChatError) and refused.code == "room_removed"
    assert created and stored.body == "hi"
    assert list(Message.objects.values_list("body", flat=True)) == ["hi"]
    with pytest.raises(ChatError) as error:
        post_message(doomed, "Ann", "again")
    assert error.value.code == "room_removed"


def test_a_taken_name_is_found_in_one_query_however_full_the_room(django_assert_num_queries):
    room = create_room()
    for number in range(50):
        be_online(room, f"Member {number}")
    be_online(room, "Ｚｅｄ")  # full-width: the same name as "zed"
    with django_assert_num_queries(1), pytest.raises(ChatError) as taken:
        check_name_free(room, " ZED ")
    assert taken.value.code == "name_taken"
    with django_assert_num_queries(1):
        check_name_free(room, "Zoe")
    check_name_free(room, "zed", session_key="Ｚｅｄ")  # one's own name is one's own


def test_a_renamed_member_s_new_name_is_taken_and_the_old_one_free(session_for):
    room = create_room()
    key = session_for("Ann")
    beat_heart("test-server")
    add_presence(room, "test-server", "ann-1", "Ann", key)
    rename_member(key, "Annie")
    with pytest.raises(ChatError):
        check_name_free(room, "ANNIE")
    check_name_free(room, "Ann")
