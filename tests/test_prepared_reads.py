"""Prepared reads return what their QuerySet returns, with each call's own arguments."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatsite.prepared_reads import PreparedRead
from rooms.models import Room, RoomSanction
from rooms.services.moderation import sanctions_in_force
from rooms.services.rooms import create_room, find_room

pytestmark = pytest.mark.django_db


def test_model_rows_are_the_querysets_instances():
    first, second = create_room(title="One"), create_room(title="Two")
    by_code = PreparedRead(lambda code: Room.objects.filter(code=code), code=str)
    for room in (first, second):
        [found] = by_code(code=room.code)
        expected = Room.objects.get(code=room.code)
        assert found.pk == expected.pk and found.title == expected.title
        assert found.created_at == expected.created_at and found.created_at.tzinfo is not None
        assert found.locked is False  # SQLite's 0 comes back as the field's bool
    assert by_code(code="NOSUCH") == []
    assert find_room(first.code.lower()).pk == first.pk
    assert find_room("NOSUCH") is None


def test_values_with_a_datetime_argument_and_converted_datetimes():
    room = create_room()
    now = timezone.now()
    RoomSanction.objects.create(room=room, session_key="s1", kind=RoomSanction.KICK, until=now + timedelta(minutes=5))
    RoomSanction.objects.create(room=room, session_key="s1", kind=RoomSanction.MUTE, until=now - timedelta(minutes=5))
    RoomSanction.objects.create(room=room, session_key="s2", kind=RoomSanction.MUTE, until=now + timedelta(minutes=9))
    assert sanctions_in_force(room, "s1") == {RoomSanction.KICK: now + timedelta(minutes=5)}
    assert sanctions_in_force(room, "s2") == {RoomSanction.MUTE: now + timedelta(minutes=9)}
    assert sanctions_in_force(room, "s3") == {}


def test_compiled_once_per_connection_and_still_a_query():
    room = create_room()
    built = []

    def build(code):
        built.append(code)
        return Room.objects.filter(code=code).values_list("pk", flat=True)

    by_code = PreparedRead(build, code=str)
    with CaptureQueriesContext(connection) as queries:
        assert by_code(code=room.code) == [room.pk]
        assert by_code(code=room.code) == [room.pk]
    assert len(built) == 1  # the marker build, not one per call
    assert len(queries) == 2  # each call runs its SQL (and shows in the query log)
    assert room.code in queries[1]["sql"]


def test_an_argument_missing_from_the_query_is_refused():
    unused = PreparedRead(lambda code, since: Room.objects.filter(code=code), code=str, since=datetime)
    with pytest.raises(ValueError, match="since"):
        unused(code="X", since=datetime(2026, 1, 1, tzinfo=UTC))


def test_reads_that_need_more_than_plain_rows_are_refused():
    with_related = PreparedRead(
        lambda code: RoomSanction.objects.select_related("room").filter(session_key=code), code=str
    )
    with pytest.raises(ValueError, match="plain rows"):
        with_related(code="s1")


def test_a_history_page_carries_replies_and_reactions_in_a_fixed_number_of_queries():
    from rooms.protocol import message_to_dict
    from rooms.services.messages import post_message, recent_history
    from rooms.services.rich import toggle_reaction

    room = create_room()
    question, _created = post_message(room, "Ann", "lunch?", session_key="ann")
    for number in range(4):
        post_message(room, "Bob", f"answer {number}", session_key="bob", reply_to=question)
    toggle_reaction(room, question.id, "bob", "Bob", "👍")
    with CaptureQueriesContext(connection) as queries:
        page, has_more = recent_history(room)
        frames = [message_to_dict(message) for message in page]
    assert not has_more and [frame["body"] for frame in frames] == ["lunch?"] + [f"answer {n}" for n in range(4)]
    assert all(frame["reply_to"]["id"] == question.id for frame in frames[1:])
    assert frames[0]["reactions"] and frames[0]["reactions"][0]["emoji"] == "👍"
    assert len(queries) == 4  # the page, the messages replied to, reactions, attachments
    older, more = recent_history(room, before=page[2].id, limit=1)
    assert [message.body for message in older] == ["answer 0"] and more
