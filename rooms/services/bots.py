"""Room bots: the owner's bot tokens, and what a token may do (post messages, read them back).

Every bot path (the HTTP API, the incoming webhook, creating a token) goes through
`check_room_takes_bots`, the one rule of which rooms accept bots at all (not encrypted ones).
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rooms.errors import ChatError
from rooms.limits import BOT_LAST_USED_EVERY_SECONDS, BOT_PAGE_MAX, BOT_TOKENS_MAX
from rooms.models import BotToken, Message, Room
from rooms.protocol import format_timestamp
from rooms.services.budgets import take_bot_post
from rooms.services.messages import check_new_message
from rooms.services.moderation import check_owner
from rooms.validation import check_name, name_key, normalize_code


def hash_bot_token(token):
    # 256 random bits: a fast hash is enough (no dictionary to try).
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_room_takes_bots(room):
    """The rule of which rooms take bots; every bot path calls it: every room but an end-to-end
    encrypted one, whose messages only browsers holding its key can write (docs/e2ee.md)."""
    if room.encrypted:
        raise ChatError("encrypted_room", _("This room is end-to-end encrypted: bots and webhooks cannot post to it."))
    return room


def check_bot_name(room, name):
    """A new token's name: a valid display name, not the name of another of the room's tokens."""
    name = check_name(name)
    key = name_key(name)
    if any(name_key(each) == key for each in BotToken.objects.filter(room=room).values_list("name", flat=True)):
        raise ChatError("bot_name_taken", _("This room already has a bot token named %(name)s.") % {"name": name})
    return name


def create_bot_token(room, owner_key, name):
    """The owner makes a token; returns (BotToken, token). Only the hash is stored: the token is
    shown once, to the owner."""
    check_owner(room, owner_key)
    check_room_takes_bots(room)
    with transaction.atomic():
        # The room's row is the lock that keeps two owner tabs from passing the cap together.
        Room.objects.select_for_update().filter(pk=room.pk).first()
        name = check_bot_name(room, name)
        if BotToken.objects.filter(room=room).count() >= BOT_TOKENS_MAX:
            raise ChatError(
                "too_many_bots",
                _("A room can have at most %(count)d bot tokens; revoke one first.") % {"count": BOT_TOKENS_MAX},
            )
        token = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                bot = BotToken.objects.create(room=room, name=name, token_hash=hash_bot_token(token))
        except IntegrityError:
            raise ChatError(
                "bot_name_taken", _("This room already has a bot token named %(name)s.") % {"name": name}
            ) from None
    return bot, token


def revoke_bot_token(room, owner_key, name):
    """The owner revokes a token by its name: requests with it are refused from now on."""
    check_owner(room, owner_key)
    if not isinstance(name, str) or not name.strip():
        raise ChatError("invalid_name", _("Name the bot token to revoke."))
    deleted, _rows = BotToken.objects.filter(room=room, name=name.strip()).delete()
    if not deleted:
        raise ChatError("bot_not_found", _("This room has no bot token named %(name)s.") % {"name": name.strip()[:32]})


def bot_tokens(room):
    """The room's tokens as the owner's list shows them (never the hash)."""
    return [
        {"name": bot.name, "created": format_timestamp(bot.created_at)}
        for bot in BotToken.objects.filter(room=room).order_by("created_at", "id")
    ]


def authenticate(token, code):
    """The room and bot a request's token speaks for, or ChatError: `unauthorized` (no such token,
    or revoked), `room_not_found`, `forbidden` (a token of another room)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise ChatError("unauthorized", _("A bot token is required: send Authorization: Bearer TOKEN."))
    bot = BotToken.objects.select_related("room").filter(token_hash=hash_bot_token(token)).first()
    if bot is None:
        raise ChatError("unauthorized", _("This bot token is unknown or was revoked."))
    if code is not None:
        code = normalize_code(code)
        if bot.room.code != code:
            if not Room.objects.filter(code=code).exists():
                raise ChatError("room_not_found", _("There is no room with code %(code)s.") % {"code": code[:16]})
            raise ChatError("forbidden", _("This bot token belongs to another room."))
    check_room_takes_bots(bot.room)
    return bot.room, bot


def check_bot_message(bot, body, client_id=None, username=None):
    """A bot's message, checked and charged to its token's budget: stored as-is (bots' slash
    commands are not read: "/me" is text) under `username` if valid, else the token's name, and
    always marked as a bot's."""
    name = bot.name
    if username is not None:
        try:
            name = check_name(username)
        except ChatError:
            name = bot.name  # a chat client posts whatever it has: its message still counts
    entry = check_new_message(bot.room, name, body, client_id)
    take_bot_post(bot.token_hash)
    return entry._replace(bot=True)


def note_bot_used(bot):
    """Record when the token was last used, at most once a minute (the admin shows it)."""
    now = timezone.now()
    if bot.last_used_at is None or now - bot.last_used_at >= timedelta(seconds=BOT_LAST_USED_EVERY_SECONDS):
        BotToken.objects.filter(pk=bot.pk).update(last_used_at=now)
        bot.last_used_at = now


def check_after_seq(value):
    """A query's `after_seq`: a log position ≥ 0 (default 0)."""
    return _query_int(value, "after_seq", 0, 0, 2**63 - 1)


def check_page_limit(value):
    return _query_int(value, "limit", 50, 1, BOT_PAGE_MAX)


def _query_int(value, field, default, low, high):
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high or not str(value).strip().isdigit():
        raise ChatError(
            "invalid_query",
            _("%(field)s must be an integer from %(low)d to %(high)d.") % {"field": field, "low": low, "high": high},
        )
    return number


def bot_messages_after(room, after_seq, limit):
    """The room's messages stored after log position `after_seq`, oldest first, at most `limit`:
    (messages, next_after_seq, has_more). A follower asks again with `next_after_seq`."""
    page = list(Message.objects.filter(room=room, seq__gt=after_seq).order_by("seq").for_wire()[: limit + 1])
    messages = page[:limit]
    next_after = messages[-1].seq if messages else after_seq
    return messages, next_after, len(page) > limit
