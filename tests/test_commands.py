"""The operators' manage.py commands, as an operator runs them."""

import io
import json
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from rooms.models import Message, Room
from rooms.services.messages import post_message
from rooms.services.operators import idle_rooms, purge_rooms
from tests.support.database import be_online, make_room

BASE_DIR = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def run_command(*args):
    """Run a command in-process; returns what it printed."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def manage(*args):
    """Run manage.py in a subprocess, for exit codes (only commands that fail before using the database)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )


# --- create_room ------------------------------------------------------------------------------


def test_create_room_prints_the_code_and_invite_url(settings):
    settings.SITE_URL = "https://chat.example.org/"
    code, url = run_command("create_room", "--title", "Standup").split()
    room = Room.objects.get(code=code)
    assert room.title == "Standup"
    assert url == f"https://chat.example.org/rooms/{code}/"


def test_create_room_with_a_chosen_code_and_base_url():
    output = run_command("create_room", "--code", "team42", "--base-url", "http://10.0.0.5:8000")
    assert output.split() == ["TEAM42", "http://10.0.0.5:8000/rooms/TEAM42/"]
    assert Room.objects.filter(code="TEAM42").exists()


def test_create_room_refuses_a_taken_or_invalid_code():
    make_room(code="TAKEN2")
    with pytest.raises(CommandError, match="already exists"):
        run_command("create_room", "--code", "taken2")
    with pytest.raises(CommandError, match="Room codes use only"):
        run_command("create_room", "--code", "no!")
    assert Room.objects.count() == 1


def test_every_command_explains_itself_in_help():
    for name in ["purge_rooms", "export_room", "import_room", "chat_stats", "create_room"]:
        command = load_command_class("rooms", name)
        text = command.create_parser("manage.py", name).format_help()
        assert text.startswith(f"usage: manage.py {name}")
        assert command.help.split()[0] in text
    purge_help = load_command_class("rooms", "purge_rooms").create_parser("manage.py", "purge_rooms").format_help()
    assert "--dry-run" in purge_help and "ROOM_IDLE_DAYS" in purge_help


def test_bad_input_exits_non_zero():
    invalid = manage("create_room", "--code", "bad code!")
    assert invalid.returncode == 1
    assert "Room codes use only" in invalid.stderr
    wrong_format = manage("export_room", "ABC", "--format", "xml")
    assert wrong_format.returncode == 2
    assert "invalid choice: 'xml'" in wrong_format.stderr


# --- purge_rooms --------------------------------------------------------------------------------


def test_purge_rooms_deletes_rooms_idle_longer_than_n_days_with_their_messages():
    idle = make_room(messages=3, days_old=10)
    idle_empty = make_room(days_old=10)
    recent = make_room(messages=2, days_old=2)
    output = run_command("purge_rooms", "--idle-days", "7")
    assert "Deleted 2 room(s) idle for more than 7 days and 3 message(s)." in output
    assert list(Room.objects.values_list("code", flat=True)) == [recent.code]
    assert not Message.objects.filter(room_id__in=[idle.pk, idle_empty.pk]).exists()
    assert Message.objects.filter(room=recent).count() == 2


def test_purge_rooms_keeps_an_old_room_someone_is_in():
    occupied = make_room(messages=1, days_old=40)
    be_online(occupied)
    output = run_command("purge_rooms", "--idle-days", "30")
    assert "Deleted 0 room(s)" in output
    assert Room.objects.filter(pk=occupied.pk).exists()


def test_purge_rooms_dry_run_deletes_nothing_and_says_what_it_would():
    old = make_room(messages=4, days_old=40)
    make_room(messages=1, days_old=1)
    output = run_command("purge_rooms", "--idle-days", "30", "--dry-run", "--verbosity", "2")
    assert f"{old.code}: 4 messages" in output
    assert "Would delete 1 room(s) idle for more than 30 days and their 4 message(s). Dry run" in output
    assert Room.objects.count() == 2
    assert Message.objects.count() == 5


def test_purge_rooms_defaults_to_the_room_idle_days_setting(settings):
    settings.ROOM_IDLE_DAYS = 5
    make_room(messages=1, days_old=6)
    kept = make_room(messages=1, days_old=4)
    assert "idle for more than 5 days" in run_command("purge_rooms")
    assert list(Room.objects.values_list("pk", flat=True)) == [kept.pk]


def test_purge_rooms_deletes_a_big_room_in_batches():
    make_room(messages=25, days_old=90)
    output = run_command("purge_rooms", "--idle-days", "30", "--batch-size", "10")
    assert "Deleted 1 room(s) idle for more than 30 days and 25 message(s)." in output
    assert not Room.objects.exists() and not Message.objects.exists()


def test_a_purge_deletes_messages_in_separate_batches():
    room = make_room(messages=25)
    message_deletes = []

    def count_message_deletes(execute, sql, params, many, context):
        if sql.startswith("DELETE") and '"rooms_message"' in sql:
            message_deletes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_message_deletes):
        result = purge_rooms([room], batch_size=10)
    # Two full batches of 10, then the last 5 go with the room.
    assert len(message_deletes) == 3
    assert (result.rooms, result.messages, result.codes) == (1, 25, [room.code])


def test_a_room_that_comes_back_to_life_during_a_purge_is_kept():
    first = make_room(messages=2, days_old=40)
    revived = make_room(messages=2, days_old=40)
    revived_pk = revived.pk if first.pk < revived.pk else first.pk
    posted = []

    def post_after_the_first_room_goes(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("DELETE") and '"rooms_room"' in sql and not posted:
            posted.append(post_message(Room.objects.get(pk=revived_pk), "Bob", "I'm back"))
        return result

    with connection.execute_wrapper(post_after_the_first_room_goes):
        result = purge_rooms(idle_rooms(30).order_by("pk"))

    assert result.rooms == 1 and result.messages == 2
    assert list(Room.objects.values_list("pk", flat=True)) == [revived_pk]
    assert Message.objects.filter(room_id=revived_pk).count() == 3


def test_purge_rooms_refuses_bad_numbers():
    with pytest.raises(CommandError, match="--idle-days must be 0 or more"):
        run_command("purge_rooms", "--idle-days", "-1")
    with pytest.raises(CommandError, match="--batch-size must be 1 or more"):
        run_command("purge_rooms", "--batch-size", "0")


# --- export_room / import_room ------------------------------------------------------------------


def test_export_room_json_is_the_full_history_oldest_first():
    room = make_room(title="Café", messages=3)
    Message.objects.filter(room=room, body="message 1").update(body='two\nlines "quoted" ünïcode', client_id="c-1")
    data = json.loads(run_command("export_room", room.code.lower()))
    assert data["format"] == "roomchat-export" and data["version"] == 1
    [exported] = data["rooms"]
    assert exported["code"] == room.code and exported["title"] == "Café"
    assert [m["body"] for m in exported["messages"]] == ["message 0", 'two\nlines "quoted" ünïcode', "message 2"]
    assert exported["messages"][1]["client_id"] == "c-1"
    assert all(m["name"] == "Ann" and m["ts"].endswith("Z") for m in exported["messages"])


def test_export_room_text_is_readable_with_multi_line_messages_indented():
    room = make_room(title="Ops", messages=1)
    Message.objects.filter(room=room).update(body="first\nsecond")
    lines = run_command("export_room", room.code, "--format", "text").splitlines()
    assert lines[0].startswith(f"# Room {room.code} Ops (created ")
    assert lines[1].endswith("] Ann: first")
    assert lines[2] == "  second"


def test_export_room_text_shows_times_to_the_minute_and_marks_edits():
    from datetime import UTC, datetime

    room = make_room(messages=2)
    first, second = Message.objects.filter(room=room).order_by("id")
    when = datetime(2026, 11, 23, 6, 0, 1, 310753, tzinfo=UTC)
    Message.objects.filter(pk=first.pk).update(created_at=when)
    Message.objects.filter(pk=second.pk).update(created_at=when, body="fixed", edited_at=when)
    lines = run_command("export_room", room.code, "--format", "text").splitlines()
    assert lines[1] == f"[2026-11-23 06:00 UTC] Ann: {first.body}"
    assert lines[2] == "[2026-11-23 06:00 UTC] Ann: fixed (edited)"


def test_export_room_to_a_file(tmp_path):
    room = make_room(messages=2)
    target = tmp_path / "room.json"
    assert run_command("export_room", room.code, "--output", str(target)) == ""
    assert len(json.loads(target.read_text(encoding="utf-8"))["rooms"][0]["messages"]) == 2
    assert not (tmp_path / "room.json.partial").exists()


def test_export_room_refuses_an_unknown_code_or_unwritable_file(tmp_path):
    with pytest.raises(CommandError, match="There is no room with code 'NOPE'"):
        run_command("export_room", "nope")
    room = make_room()
    with pytest.raises(CommandError, match="Cannot write"):
        run_command("export_room", room.code, "--output", str(tmp_path / "missing-dir" / "room.json"))


def test_import_of_an_export_round_trips(tmp_path):
    room = make_room(title="Round trip", code="RTRP22", messages=5, days_old=3)
    Message.objects.filter(room=room, body="message 2").update(body="multi\nline ✓", client_id="abc")
    export = tmp_path / "export.json"
    run_command("export_room", room.code, "--output", str(export))
    purge_rooms([room])

    output = run_command("import_room", str(export))

    assert output.strip() == "Imported room RTRP22 with 5 message(s)."
    reexport = tmp_path / "again.json"
    run_command("export_room", "RTRP22", "--output", str(reexport))
    assert reexport.read_text(encoding="utf-8") == export.read_text(encoding="utf-8")


def test_import_gives_a_new_code_when_the_code_is_taken(tmp_path):
    room = make_room(title="Twice", messages=2)
    export = tmp_path / "export.json"
    run_command("export_room", room.code, "--output", str(export))
    output = run_command("import_room", str(export))
    copy = Room.objects.exclude(pk=room.pk).get()
    assert copy.code != room.code
    assert f"Imported room {copy.code} (code {room.code} was taken) with 2 message(s)." in output
    assert copy.title == "Twice"
    assert list(copy.messages.values_list("body", flat=True)) == ["message 0", "message 1"]


@pytest.mark.parametrize(
    "content, error",
    [
        ("not json at all", "is not a valid JSON file"),
        (
            '{"format": "roomchat-export", "version": 1, "rooms": [{"code": "AAAAAA", "messages": [{"name": "A',
            "valid JSON",
        ),
        ("[1, 2]", "Not a roomchat export"),
        ('{"rooms": []}', "Not a roomchat export"),
        ('{"format": "roomchat-export", "version": 99, "rooms": []}', "Unsupported export version 99"),
        ('{"format": "roomchat-export", "version": 1, "rooms": []}', "holds no rooms"),
        (
            '{"format": "roomchat-export", "version": 1, "rooms": [{"code": "AAAAAA", "messages": '
            '[{"name": "Ann", "body": "ok", "ts": "2026-01-01T00:00:00Z"}, {"name": "Ann", "body": "", "ts": "x"}]}]}',
            "message 2: Message is empty",
        ),
        (
            '{"format": "roomchat-export", "version": 1, "rooms": [{"code": "AAAAAA", "messages": '
            '[{"name": "Ann", "body": "hi", "ts": "yesterday"}]}]}',
            "message 1: 'yesterday' is not an ISO 8601 time",
        ),
    ],
)
def test_import_refuses_a_bad_file_and_leaves_nothing_behind(tmp_path, content, error):
    source = tmp_path / "bad.json"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=error):
        run_command("import_room", str(source))
    assert not Room.objects.exists()
    assert not Message.objects.exists()


def test_import_of_a_room_without_messages_and_of_several_rooms(tmp_path):
    source = tmp_path / "two.json"
    source.write_text(
        '{"format": "roomchat-export", "version": 1, "extra": {"ignored": [1]}, "rooms": ['
        '{"code": "EMPTY2", "title": "Nothing said", "created_at": "2025-01-02T03:04:05Z"},'
        '{"title": "Chatty", "messages": [{"name": "Ann", "body": "hello", "ts": "2025-01-02T03:04:06+00:00"}]}]}',
        encoding="utf-8",
    )
    output = run_command("import_room", str(source))
    empty = Room.objects.get(code="EMPTY2")
    assert empty.title == "Nothing said" and not empty.messages.exists()
    assert empty.created_at.isoformat() == "2025-01-02T03:04:05+00:00"
    chatty = Room.objects.get(title="Chatty")
    assert [(m.name, m.body) for m in chatty.messages.all()] == [("Ann", "hello")]
    assert output.splitlines() == [
        "Imported room EMPTY2 with 0 message(s).",
        f"Imported room {chatty.code} with 1 message(s).",
    ]


def test_import_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run_command("import_room", str(tmp_path / "nothing.json"))


def test_exporting_a_200k_message_room_streams_in_bounded_memory(tmp_path):
    room = make_room(title="Big")
    count = 200_000
    started = timezone.now() - timedelta(days=1)
    body = "x" * 150  # so that holding every message at once would far exceed the bound
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO rooms_message (room_id, name, body, created_at, client_id) VALUES (%s, %s, %s, %s, NULL)",
            ((room.pk, "Ann", f"{number} {body}", started + timedelta(microseconds=number)) for number in range(count)),
        )
    target = tmp_path / "big.json"

    tracemalloc.start()
    try:
        run_command("export_room", room.code, "--output", str(target))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    size = target.stat().st_size
    print(f"export of {count} messages: tracemalloc peak {peak / 2**20:.1f} MiB, file {size / 2**20:.1f} MiB")
    assert peak < 50 * 2**20
    messages = json.loads(target.read_text(encoding="utf-8"))["rooms"][0]["messages"]
    assert len(messages) == count
    assert messages[0]["body"] == f"0 {body}" and messages[-1]["body"] == f"{count - 1} {body}"


# --- chat_stats ---------------------------------------------------------------------------------


def test_chat_stats_counts_rooms_messages_members_and_busiest_rooms():
    busy = make_room(title="Busy", messages=5)
    quiet = make_room(messages=1)
    old = make_room(messages=3, days_old=3)
    Message.objects.filter(room=quiet).update(created_at=timezone.now() - timedelta(hours=2))
    be_online(busy, "Bob")
    be_online(busy, "Cy")
    be_online(quiet, "Bob")

    stats = json.loads(run_command("chat_stats", "--json", "--top", "2"))

    assert stats == {
        "rooms": 3,
        "messages": 9,
        "messages_last_hour": 5,
        "messages_last_day": 6,
        "members_online": 3,
        "rooms_with_members": 2,
        "busiest_rooms": [
            {"code": busy.code, "title": "Busy", "messages_last_day": 5},
            {"code": quiet.code, "title": "", "messages_last_day": 1},
        ],
    }
    text = run_command("chat_stats")
    assert "Rooms:               3" in text
    assert "Members online:      3 in 2 room(s)" in text
    assert f"{busy.code} Busy: 5 message(s)" in text
    assert old.code not in text


def test_purge_rooms_prunes_superseded_message_changes_after_the_keep_days(settings):
    from rooms.models import MessageChange
    from rooms.services.rich import toggle_reaction

    settings.MESSAGE_CHANGE_KEEP_DAYS = 7
    room = make_room()
    message, _ = post_message(room, "Ann", "hello", session_key="ann-session")
    for _ in range(5):  # a reaction toggled on and off: five log entries, the last one current
        toggle_reaction(room, message.id, "bob-session", "Bob", "👍")
    old = timezone.now() - timedelta(days=8)
    MessageChange.objects.update(created_at=old)
    toggle_reaction(room, message.id, "cy-session", "Cy", "🎉")  # a recent change
    toggle_reaction(room, message.id, "cy-session", "Cy", "🎉")  # ...superseded, but recent
    output = run_command("purge_rooms")
    assert "Pruned 5 superseded message change(s) older than 7 days." in output
    message.refresh_from_db()
    kept = list(MessageChange.objects.order_by("seq").values_list("seq", flat=True))
    assert len(kept) == 2 and kept[-1] == message.change_seq  # the latest change stays
