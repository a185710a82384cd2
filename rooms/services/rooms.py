"""Rooms: creating one with a fresh code, finding one by code, and which have expired or gone."""

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from chatsite.prepared_reads import PreparedRead
from rooms.errors import ChatError
from rooms.limits import CODE_ALPHABET
from rooms.models import Room
from rooms.services.budgets import take
from rooms.validation import check_title, normalize_code


def generate_code(length=None):
    length = length or settings.ROOM_CODE_LENGTH
    return "".join(secrets.choice(CODE_ALPHABET) for _position in range(length))


def create_room(title="", code=None, key_check=None):
    """Create a room with a fresh unique code (or the given one, which must be free). `key_check`,
    a checked (ciphertext, iv) the creating browser made with its key, makes it end-to-end encrypted."""
    title = check_title(title)
    extra = {}
    if key_check:
        extra = {"encrypted": True, "key_check": key_check[0], "key_check_iv": key_check[1]}
    if code is not None:
        code = normalize_code(code)
        if not code or any(char not in CODE_ALPHABET for char in code):
            raise ChatError(
                "invalid_code",
                format_lazy(_("Room codes use only these characters: {characters}."), characters=CODE_ALPHABET),
            )
        if Room.objects.filter(code=code).exists():
            raise ChatError("code_taken", format_lazy(_("Room {code} already exists."), code=code))
        return Room.objects.create(code=code, title=title, **extra)
    for _attempt in range(20):
        try:
            with transaction.atomic():
                return Room.objects.create(code=generate_code(), title=title, **extra)
        except IntegrityError:
            continue  # a collision: draw again
    raise ChatError("no_free_code", _("Could not find a free room code; try a longer ROOM_CODE_LENGTH."))


def take_room_creation(ip):
    """Count a room created from this IP (ROOM_CREATE_PER_IP_PER_HOUR), or refuse with retry_after."""
    take(
        "create-room",
        ip,
        settings.ROOM_CREATE_PER_IP_PER_HOUR,
        3600,
        _("Too many rooms were created from your address lately; try again in {minutes} minutes."),
    )


def find_room(code):
    """The room with this code (any case, spaces and dashes ignored), or None."""
    code = normalize_code(code)
    # No real code is longer than the column or holds NUL (which PostgreSQL cannot even compare).
    if not code or len(code) > Room._meta.get_field("code").max_length or "\x00" in code:
        return None
    found = room_by_code(code=code)
    return found[0] if found else None


room_by_code = PreparedRead(lambda code: Room.objects.filter(code=code)[:1], code=str)


def rooms_in_order(codes):
    """The rooms of `codes` that still exist, in the order of `codes`."""
    if not codes:
        return []  # a first visit: no query to build
    found = {room.code: room for room in Room.objects.filter(code__in=codes)}
    return [found[code] for code in codes if code in found]


def missing_room_codes(codes):
    """Those of `codes` whose room no longer exists."""
    codes = set(codes)
    return codes - set(Room.objects.filter(code__in=codes).values_list("code", flat=True)) if codes else set()


def expired_rooms():
    return Room.objects.filter(expires_at__lte=timezone.now())


def expired_room_codes(codes):
    """Which of these rooms have reached their expiry time."""
    return list(expired_rooms().filter(code__in=codes).values_list("code", flat=True))
