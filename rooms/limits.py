"""Every tunable of a room in one place. Those an operator may change are Django settings (read
from the environment in chatsite/settings.py); the rest are fixed product rules. The room page
gets what it needs through `page_limits()`, so the browser never repeats a number."""

from datetime import timedelta

from django.conf import settings

# Upper-case letters and digits without look-alikes (0/O, 1/I) so codes survive being read aloud.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CLIENT_ID_MAX_CHARS = 64
PASSPHRASE_MAX_CHARS = 200

# Rich messages.
EDIT_WINDOW = timedelta(minutes=15)
REACTION_EMOJI = ("👍", "❤️", "😂", "😮", "😢", "🎉")
CHANGES_PAGE_SIZE = 200  # message changes per resume page

# Conversation features.
REPLY_EXCERPT_CHARS = 100  # how much of the parent a reply quotes
PINS_MAX = 10  # pinned messages per room
SEARCH_QUERY_MAX_CHARS = 100
SEARCH_RESULTS_MAX = 50  # per search_results frame, newest first
SEARCH_RATE_PER_SECOND = 1  # searches per connection: each one reads the room's messages
SEARCH_RATE_BURST = 5
ATTACHMENTS_MAX = 4  # images per message
IMAGE_MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
IMAGE_MAX_SIDE = 4096  # stored images are scaled down to this
THUMB_SIDE = 320  # thumbnails shown in the list
AROUND_EACH_SIDE = 25  # messages before and after the one a `history` `around` page is centred on

# End-to-end encrypted rooms (services/encryption.py): AES-GCM with a 96-bit IV and a 128-bit tag.
IV_BYTES = 12
GCM_TAG_BYTES = 16
KEY_CHECK_MAX_BYTES = 64  # the key check: a ciphertext of a short fixed text

# Moderation.
KICK_MINUTES = 10  # a kicked session cannot rejoin for this long
MUTE_MAX_MINUTES = 24 * 60
EXPIRY_MIN_HOURS = 1
EXPIRY_MAX_HOURS = 30 * 24

# Operators.
PURGE_BATCH_SIZE = 5000  # messages deleted per transaction, so a big purge never holds a long lock
EXPORT_CHUNK_SIZE = 2000  # rows fetched per database round trip while exporting
IMPORT_BATCH_SIZE = 1000  # messages inserted per transaction while importing

# Bots and webhooks (services/bots.py, api.py).
BOT_TOKENS_MAX = 10  # tokens per room
BOT_REQUEST_MAX_BYTES = 64 * 1024  # an API or webhook request body; larger ones get 413 unread
BOT_POSTS_PER_WINDOW = 30  # messages one token may post per BOT_BUDGET_WINDOW_SECONDS
BOT_BUDGET_WINDOW_SECONDS = 10
BOT_PAGE_MAX = 200  # messages per GET of the API's message list
BOT_LAST_USED_EVERY_SECONDS = 60  # how stale a token's "last used" may get before it is written again

# Per connection.
MAX_MESSAGE_ID = 2**63 - 1  # ids are 64-bit: a larger `?after` asks for nothing newer
HISTORY_DEDUPE_SECONDS = 30  # how long after joining a live copy of a history message is dropped
HISTORY_PAGES_PER_SECOND = 2  # "load earlier" pages: plenty for reading back, not a way to load the database
HISTORY_PAGES_BURST = 10


def name_max_chars():
    # The name columns are 32 wide: a larger setting would fail at insert on PostgreSQL.
    return min(settings.NAME_MAX_CHARS, 32)


def owner_frame_rate():
    """Owner frames per connection: (sustained per second, burst). Each may hash a passphrase or
    write the room, so a flood of them must not load the database or the CPU."""
    return settings.OWNER_RATE_PER_SECOND, settings.OWNER_RATE_BURST


SESSION_BUDGET_WINDOW_SECONDS = 10  # the window of the per-session budgets below


def session_budget(kind):
    """Frames of `kind` ("send": message, rename, edit, react; "owner": owner frames) one session
    may send to one room per SESSION_BUDGET_WINDOW_SECONDS, however many sockets it opens: what
    one connection's token bucket allows in that window, so a single tab never notices."""
    rate, burst = (
        owner_frame_rate() if kind == "owner" else (settings.MESSAGE_RATE_PER_SECOND, settings.MESSAGE_RATE_BURST)
    )
    return int(burst + rate * SESSION_BUDGET_WINDOW_SECONDS)


def ciphertext_max_bytes():
    """The longest ciphertext of a message: its body of MESSAGE_MAX_CHARS UTF-16 units is at most
    3 UTF-8 bytes each, plus the tag (6,016 bytes, 8,024 in base64, by default)."""
    return settings.MESSAGE_MAX_CHARS * 3 + GCM_TAG_BYTES


def page_limits():
    """The limits the room page enforces before sending (the server checks them again)."""
    return {
        "message_max_chars": settings.MESSAGE_MAX_CHARS,
        "name_max_chars": name_max_chars(),
        "passphrase_max_chars": PASSPHRASE_MAX_CHARS,
        "mute_max_minutes": MUTE_MAX_MINUTES,
        "expiry_max_hours": EXPIRY_MAX_HOURS,
        "edit_window_seconds": int(EDIT_WINDOW.total_seconds()),
        "reaction_emoji": list(REACTION_EMOJI),
        "attachments_max": ATTACHMENTS_MAX,
    }
