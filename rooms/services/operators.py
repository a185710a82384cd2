"""What operators do to rooms (admin and commands): statistics, idle rooms, purging.

Purging sends the `rooms_removed` signal once committed; the realtime layer closes the rooms'
connections in every process (services never import the realtime layer)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from rooms.limits import PURGE_BATCH_SIZE
from rooms.models import Message, MessageChange, Room
from rooms.services.presence import live_presences
from rooms.services.rooms import expired_rooms
from rooms.signals import rooms_removed


def rooms_with_stats(rooms=None):
    """Rooms annotated, in one query, with their message count, last activity (the last message, or
    the creation of a room without any) and members online, for operators. Correlated subqueries
    rather than joins, so the counts do not multiply each other and a page costs one query."""
    rooms = Room.objects.all() if rooms is None else rooms
    messages = Message.objects.filter(room=OuterRef("pk")).order_by()
    members = live_presences().filter(room=OuterRef("pk")).order_by()
    return rooms.annotate(
        message_count=Coalesce(Subquery(messages.values("room").annotate(n=Count("id")).values("n")), 0),
        last_activity=Coalesce(Subquery(messages.order_by("-id").values("created_at")[:1]), F("created_at")),
        members_online=Coalesce(
            Subquery(members.values("room").annotate(n=Count("session_key", distinct=True)).values("n")), 0
        ),
    )


def idle_condition(days):
    """Filter for rooms_with_stats(): no message for more than `days` days (for an empty room:
    created before that) and nobody in the room now."""
    return Q(last_activity__lt=timezone.now() - timedelta(days=days), members_online=0)


def idle_rooms(days, rooms=None):
    """Rooms idle for more than `days` days (see idle_condition), annotated like rooms_with_stats."""
    return rooms_with_stats(rooms).filter(idle_condition(days))


@dataclass
class PurgeResult:
    rooms: int = 0
    messages: int = 0
    codes: list = field(default_factory=list)


def purge_rooms(rooms, batch_size=None):
    """Delete rooms (a queryset, whose conditions are checked again before each room goes, or an
    iterable of rooms) with their messages, then close the live connections of every deleted room
    with a `room_removed` error.

    A room's messages go in batches of `batch_size`, each its own short transaction, so purging a
    large room never locks the database for long; the room row goes last, with any message posted
    meanwhile. Returns a PurgeResult with the numbers of rooms and messages deleted."""
    batch_size = batch_size or PURGE_BATCH_SIZE
    is_queryset = isinstance(rooms, QuerySet)
    room_ids = list(rooms.values_list("pk", flat=True)) if is_queryset else [r.pk for r in rooms]
    result = PurgeResult()
    for room_id in room_ids:
        # A queryset's conditions (say, idle_rooms) are checked again right before each room goes:
        # a room that came back to life during a long purge is kept.
        if is_queryset and not rooms.filter(pk=room_id).exists():
            continue
        while True:
            # The id closing a full batch: deleting up to it touches exactly batch_size rows.
            edge = list(
                Message.objects.filter(room_id=room_id)
                .order_by("id")
                .values_list("id", flat=True)[batch_size - 1 : batch_size]
            )
            if not edge:
                break
            with transaction.atomic():
                result.messages += Message.objects.filter(room_id=room_id, id__lte=edge[0]).delete()[0]
        with transaction.atomic():
            room = Room.objects.filter(pk=room_id).first()
            if room is None:
                continue  # already gone
            _, per_model = room.delete()
        result.rooms += 1
        result.messages += per_model.get(Message._meta.label, 0)
        result.codes.append(room.code)
    if result.codes:
        codes = list(result.codes)
        transaction.on_commit(lambda: rooms_removed.send(sender=None, codes=codes))
    return result


def prune_message_changes(days, batch_size=None):
    """Delete the log rows of edits, deletions and reactions older than `days` days that a later
    change of the same message superseded; returns how many. A message's latest change stays (a
    client filling a hole reads the message's state at that position); a resume reads messages,
    not these rows, so what it sends is unchanged. Batched, so SQLite is never locked for long."""
    cutoff = timezone.now() - timedelta(days=days)
    superseded = MessageChange.objects.filter(created_at__lt=cutoff, seq__lt=F("message__change_seq"))
    deleted = 0
    while True:
        batch = list(superseded.values_list("pk", flat=True)[: batch_size or PURGE_BATCH_SIZE])
        if not batch:
            return deleted
        deleted += MessageChange.objects.filter(pk__in=batch).delete()[0]


def chat_stats(top=5):
    """Counts for operators: rooms, messages (all, last hour, last day), members online and the
    busiest rooms of the last day."""
    now = timezone.now()
    day_ago = now - timedelta(days=1)
    live = live_presences()
    busiest = (
        Message.objects.filter(created_at__gte=day_ago)
        .values("room__code", "room__title")
        .annotate(messages=Count("id"))
        .order_by("-messages", "room__code")[:top]
    )
    return {
        "rooms": Room.objects.count(),
        "messages": Message.objects.count(),
        "messages_last_hour": Message.objects.filter(created_at__gte=now - timedelta(hours=1)).count(),
        "messages_last_day": Message.objects.filter(created_at__gte=day_ago).count(),
        "members_online": live.values("room", "session_key").distinct().count(),
        "rooms_with_members": live.values("room").distinct().count(),
        "busiest_rooms": [
            {"code": row["room__code"], "title": row["room__title"], "messages_last_day": row["messages"]}
            for row in busiest
        ],
    }


def purge_expired_rooms(batch_size=None):
    return purge_rooms(expired_rooms(), batch_size=batch_size)
