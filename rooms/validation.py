"""Checks of untrusted input. Each `check_*` returns the cleaned value or raises `ChatError` with
a detail fit to show the person; views, forms, consumers, the admin and commands all use these."""

import re
import unicodedata

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import CLIENT_ID_MAX_CHARS, MUTE_MAX_MINUTES, PASSPHRASE_MAX_CHARS, name_max_chars

# Unicode's control characters (category Cc: U+0000–U+001F, U+007F–U+009F) corrupt displays and
# logs; lone surrogates (Cs) cannot be stored as UTF-8. One regex scan instead of a category lookup
# per character: this runs on every message.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_CHARACTERS_BUT_NEWLINES_AND_TABS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text, allow_newlines):
    pattern = CONTROL_CHARACTERS_BUT_NEWLINES_AND_TABS if allow_newlines else CONTROL_CHARACTERS
    return pattern.search(text) is not None


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# The error a frame field with text that is not valid Unicode gets; any other field: invalid_frame.
FIELD_ERROR_CODES = {
    "body": "invalid_message",
    "client_id": "invalid_client_id",
    "name": "invalid_name",
    "to": "invalid_name",
    "passphrase": "invalid_passphrase",
    "emoji": "invalid_reaction",
}


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)


def check_frame_text(frame):
    """Refuse a frame any of whose strings, at any depth, holds a lone surrogate (JSON can escape
    one, "\\ud800"): such text cannot be stored, looked up in the database or sent back as UTF-8,
    so it never gets past parsing, whatever the field."""
    for field, value in frame.items():
        if any(LONE_SURROGATE.search(text) for text in strings_in(value)):
            code = FIELD_ERROR_CODES.get(field, "invalid_frame")
            raise ChatError(
                code, format_lazy(_("`{field}` is not valid Unicode text (it holds a lone surrogate)."), field=field)
            )


def check_name(name):
    """A display name, trimmed: 1 to NAME_MAX_CHARS characters of printable text."""
    if not isinstance(name, str):
        raise ChatError("invalid_name", _("Name must be text."))
    name = name.strip()
    if not name:
        raise ChatError("invalid_name", _("Please enter a display name."))
    if len(name) > name_max_chars():
        raise ChatError(
            "invalid_name", format_lazy(_("Names can be at most {limit} characters."), limit=name_max_chars())
        )
    if has_control_characters(name, allow_newlines=False):
        raise ChatError("invalid_name", _("Names cannot contain control characters."))
    return name


def name_key(name):
    """What two display names are compared by: trimmed, NFKC-normalized and casefolded, so "Ann",
    " ANN " and full-width "Ａｎｎ" are one name."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name.strip()).casefold())


def check_body(body):
    """A message body, trimmed, with Windows line ends made plain: 1 to MESSAGE_MAX_CHARS characters."""
    if not isinstance(body, str):
        raise ChatError("invalid_message", _("Message body must be text."))
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise ChatError("empty_message", _("Message is empty."))
    if len(body) > settings.MESSAGE_MAX_CHARS:
        raise ChatError(
            "message_too_long",
            format_lazy(_("Messages can be at most {limit} characters."), limit=settings.MESSAGE_MAX_CHARS),
        )
    if has_control_characters(body, allow_newlines=True):
        raise ChatError("invalid_message", _("Messages cannot contain control characters."))
    return body


def check_client_id(client_id):
    """The sender's idempotency key: optional, at most 64 printable characters."""
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX_CHARS:
        raise ChatError("invalid_client_id", _("client_id must be text of 1 to 64 characters."))
    if has_control_characters(client_id, allow_newlines=False):
        raise ChatError("invalid_client_id", _("client_id cannot contain control characters."))
    return client_id


def check_title(title):
    title = (title or "").strip()
    if len(title) > settings.TITLE_MAX_CHARS:
        raise ChatError(
            "invalid_title", format_lazy(_("Titles can be at most {limit} characters."), limit=settings.TITLE_MAX_CHARS)
        )
    if has_control_characters(title, allow_newlines=False):
        raise ChatError("invalid_title", _("Titles cannot contain control characters."))
    return title


def is_code_separator(char):
    """Spaces and dashes (hyphen, en and em dashes, the minus sign …) people group a code with."""
    return char.isspace() or unicodedata.category(char) == "Pd" or char == "\u2212"


def normalize_code(code):
    """Codes are matched case-insensitively, ignoring spaces and dashes anywhere: "wq6 728",
    "WQ6-728" and "Wq6–728" all name room WQ6728."""
    return "".join(char for char in (code or "") if not is_code_separator(char)).upper()


def check_log_position(position):
    """A position in a room's log to read after: an integer ≥ 0."""
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ChatError("invalid_after_seq", _("`after_seq` must be a log position (an integer ≥ 0)."))
    return position


def check_before(before):
    """The id a history page ends before: a positive integer."""
    if isinstance(before, bool) or not isinstance(before, int) or before < 1:
        raise ChatError("invalid_before", _("`before` must be a positive message id."))
    return before


def check_mute_minutes(minutes):
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MUTE_MAX_MINUTES:
        raise ChatError("invalid_minutes", format_lazy(_("Mute for 1 to {limit} minutes."), limit=MUTE_MAX_MINUTES))
    return minutes


def check_passphrase_text(passphrase):
    """A passphrase to set: "" (none) or up to PASSPHRASE_MAX_CHARS characters, kept as typed."""
    if not isinstance(passphrase, str):
        raise ChatError("invalid_passphrase", _("The passphrase must be text."))
    if len(passphrase) > PASSPHRASE_MAX_CHARS or has_control_characters(passphrase, allow_newlines=False):
        raise ChatError(
            "invalid_passphrase", format_lazy(_("Use up to {limit} printable characters."), limit=PASSPHRASE_MAX_CHARS)
        )
    return passphrase


def check_message_id(message_id):
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id < 1:
        raise ChatError("invalid_id", _("`id` must be a positive message id."))
    return message_id


SENDING_TOO_FAST = _("You are sending too fast; slow down.")


def check_rate(bucket, detail=SENDING_TOO_FAST, **extra):
    """Refuse an action its connection's token bucket has no room for, saying when to retry."""
    if not bucket.take():
        raise ChatError("rate_limited", detail, retry_after=bucket.wait(), **extra)
