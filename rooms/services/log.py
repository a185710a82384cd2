"""The room's event log: every event a client must not miss (a message stored, edited, deleted or
reacted to) has a position `seq`, 1, 2, 3, … per room, with no hole. Positions are taken in the
transaction that stores the event, from the room row's `last_seq` counter: the row stays locked
until commit, so positions are handed out in commit order across processes. A client (or a
server process) that saw position N and then N + 2 knows N + 1 exists and reads it from here.

Join, leave and rename notices, presence and typing are not in the log: they describe the room
now, and the next member list supersedes a missed one.
"""

from django.db import connection

from rooms.models import Message, MessageChange, Room

LOG_PAGE_SIZE = 200  # events read per query when filling a gap or resuming


def take_positions(room_id, count):
    """Take `count` positions of the room's log; returns the first, or None when the room is gone.
    Call inside the transaction that stores the events (the room row stays locked until commit)."""
    table = connection.ops.quote_name(Room._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq", [count, room_id]
        )
        row = cursor.fetchone()
    return None if row is None else row[0] - count + 1


def take_positions_of_rooms(counts):
    """`take_positions` for several rooms at once ({room id: count}) in two statements, not one per
    room: {room id: first position taken}; a room that is gone is missing. On PostgreSQL the rows
    are locked in id order first, so two processes' batches never wait for each other in a circle
    (SQLite has one writer at a time)."""
    if not counts:
        return {}
    table = connection.ops.quote_name(Room._meta.db_table)
    ids = sorted(counts)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update:
            cursor.execute(f"SELECT id FROM {table} WHERE id IN ({marks}) ORDER BY id FOR UPDATE", ids)
        cases = " ".join(["WHEN %s THEN %s"] * len(ids))
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + CASE id {cases} END WHERE id IN ({marks}) "
            "RETURNING id, last_seq",
            [value for room_id in ids for value in (room_id, counts[room_id])] + ids,
        )
        return {room_id: last - counts[room_id] + 1 for room_id, last in cursor.fetchall()}


def last_positions(codes):
    """{room code: its log's last position} for the rooms with these codes that still exist."""
    return dict(Room.objects.filter(code__in=list(codes)).values_list("code", "last_seq")) if codes else {}


def events_between(room_code, after, upto, limit=LOG_PAGE_SIZE):
    """The log's events with positions in (after, upto], in order, at most `limit`: pairs of
    (seq, message) where the message is in its current state and `kind` says which event it was:
    "message" (stored at seq) or "change" (changed at seq)."""
    messages = (
        Message.objects.filter(room__code=room_code, seq__gt=after, seq__lte=upto).for_wire().order_by("seq")[:limit]
    )
    events = [(message.seq, "message", message) for message in messages]
    changes = (
        MessageChange.objects.filter(room__code=room_code, seq__gt=after, seq__lte=upto)
        .select_related("message__reply_to")
        .prefetch_related("message__reactions")
        .order_by("seq")[:limit]
    )
    events += [(change.seq, "change", change.message) for change in changes]
    events.sort(key=lambda event: event[0])
    return events[:limit]


def messages_after_position(room, after, limit=LOG_PAGE_SIZE):
    """Messages stored after log position `after`, in log order, at most `limit`, and has_more."""
    page = list(Message.objects.filter(room=room, seq__gt=after).order_by("seq").for_wire()[: limit + 1])
    return page[:limit], len(page) > limit


def changed_before_position(room, stored_upto, changed_after, limit=LOG_PAGE_SIZE):
    """Messages stored at or before log position `stored_upto` whose latest change is after
    position `changed_after`, in order of that change, at most `limit`, and has_more."""
    page = list(
        Message.objects.filter(room=room, seq__lte=stored_upto, change_seq__gt=changed_after)
        .order_by("change_seq")
        .for_wire()[: limit + 1]
    )
    return page[:limit], len(page) > limit
