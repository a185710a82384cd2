"""Search in a room: messages holding every word of a query (each word as the start of a word of
the message, case-insensitively), newest first. Deleted messages never match (their body is gone).

On PostgreSQL this is full-text search with the 'simple' configuration (no stemming: rooms mix
languages) over a GIN index of `to_tsvector('simple', body)` (migration 0014); elsewhere (SQLite)
the same rule is applied in Python to the room's messages, newest first.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import AROUND_EACH_SIDE, SEARCH_QUERY_MAX_CHARS, SEARCH_RESULTS_MAX
from rooms.models import Message
from rooms.validation import check_message_id, has_control_characters

WORD = re.compile(r"\w+")
FALLBACK_CHUNK = 500  # messages read per query by the fallback


def search_words(q):
    """The words of a query, lower-cased: 1–100 characters holding at least one word."""
    if not isinstance(q, str) or has_control_characters(q, allow_newlines=False):
        raise ChatError("invalid_query", _("Search for some text."))
    if len(q) > SEARCH_QUERY_MAX_CHARS:
        raise ChatError(
            "invalid_query", format_lazy(_("Searches can be at most {limit} characters."), limit=SEARCH_QUERY_MAX_CHARS)
        )
    words = list(dict.fromkeys(WORD.findall(q.lower())))
    if not words:
        raise ChatError("invalid_query", _("Search for at least one word."))
    return words


def body_vector():
    """The indexed expression: the query must spell it exactly as the index does to use it."""
    return SearchVector("body", config="simple")


def search_messages(room, q, before=None, limit=SEARCH_RESULTS_MAX):
    """Up to `limit` messages of the room matching `q` (with id below `before`), newest first, and
    whether more match."""
    words = search_words(q)
    if before is not None:
        before = check_message_id(before)
    matches = Message.objects.filter(room=room, deleted=False)
    if before is not None:
        matches = matches.filter(id__lt=before)
    if connection.vendor == "postgresql":
        # Only \w characters reach the query text, so no word can be read as a tsquery operator.
        query = SearchQuery(" & ".join(f"{word}:*" for word in words), config="simple", search_type="raw")
        page = list(matches.annotate(text=body_vector()).filter(text=query).order_by("-id").for_wire()[: limit + 1])
    else:
        page = _fallback_search(matches, words, limit + 1)
    return page[:limit], len(page) > limit


def body_matches(body, words):
    """The fallback's rule: every query word starts some word of the body."""
    body_words = WORD.findall(body.lower())
    return all(any(each.startswith(word) for each in body_words) for word in words)


def _fallback_search(matches, words, wanted):
    found = []
    for message_id, body in matches.order_by("-id").values_list("id", "body").iterator(chunk_size=FALLBACK_CHUNK):
        if body_matches(body, words):
            found.append(message_id)
            if len(found) == wanted:
                break
    return list(Message.objects.for_wire().filter(id__in=found).order_by("-id"))


def history_around(room, around):
    """The page of history centred on message `around` of this room: up to AROUND_EACH_SIDE
    messages before it, it, and up to AROUND_EACH_SIDE after, oldest first; whether older and newer
    messages exist beyond the page."""
    around = check_message_id(around)
    if not Message.objects.filter(room=room, id=around).exists():
        raise ChatError("message_not_found", _("That message does not exist in this room."))
    messages = Message.objects.filter(room=room)
    older = list(messages.filter(id__lt=around).order_by("-id").for_wire()[: AROUND_EACH_SIDE + 1])
    newer = list(messages.filter(id__gte=around).order_by("id").for_wire()[: AROUND_EACH_SIDE + 2])
    page = older[:AROUND_EACH_SIDE][::-1] + newer[: AROUND_EACH_SIDE + 1]
    next_id = newer[AROUND_EACH_SIDE + 1].id if len(newer) > AROUND_EACH_SIDE + 1 else None
    return page, len(older) > AROUND_EACH_SIDE, next_id
