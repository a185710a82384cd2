from django.db import models
from django.db.models import Q, Value


class Room(models.Model):
    """A chat room, found by its short shareable code. Rooms are kept when they empty."""

    code = models.CharField(max_length=16, unique=True)
    title = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Owner controls: the owner proves ownership with a random key; only its hash is kept.
    owner_key_hash = models.CharField(max_length=64, blank=True)
    locked = models.BooleanField(default=False)
    passphrase_hash = models.CharField(max_length=128, blank=True)  # Django password hasher; "" = none
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)  # deleted at this time
    # Sessions present when the room was locked: they may come back (a dropped connection, a
    # refresh) while it stays locked. Emptied on unlock.
    admitted_while_locked = models.JSONField(default=list, blank=True, db_default=Value([], models.JSONField()))
    # Sessions present when the owner set the passphrase: members already in the room need not
    # type it (it is for new members). Emptied when the passphrase is removed.
    admitted_with_passphrase = models.JSONField(default=list, blank=True, db_default=Value([], models.JSONField()))
    # The read-only watch link's token, hashed like the owner key; "" = no watch link.
    watch_token_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The room's event log: the position of its latest event (a message stored, edited, deleted or
    # reacted to). Taken with UPDATE … RETURNING in the transaction that stores the event, so the
    # row lock makes positions contiguous and in commit order across processes.
    last_seq = models.BigIntegerField(default=0, db_default=0)
    # End-to-end encrypted (docs/e2ee.md): bodies are AES-GCM ciphertexts made in the browsers
    # with a key only the invite link's fragment carries. The key check is a ciphertext of a known
    # text under that key (base64), so a page can tell a wrong or missing key from a broken message.
    encrypted = models.BooleanField(default=False, db_default=False)
    key_check = models.CharField(max_length=128, blank=True, default="", db_default="")
    key_check_iv = models.CharField(max_length=24, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.code} ({self.title})" if self.title else self.code


class MessageQuerySet(models.QuerySet):
    def for_wire(self):
        """Everything a message frame shows besides the row: its reactions and the message it replies to."""
        return self.select_related("reply_to").prefetch_related("reactions", "attachments")


class Message(models.Model):
    """One chat message. Its id orders a room's messages and is what clients resume from."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    name = models.CharField(max_length=32)
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)
    # Chosen by the sending client so a resend after a lost acknowledgement is stored once.
    # NULL, not "", when absent: the uniqueness constraint below applies only to real ids.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # Rich messages (docs/protocol.md, "Edits and deletions"): a hash of the author's session key
    # (only that session may edit or delete), the time of the last edit, and a tombstone flag.
    author_key = models.CharField(max_length=64, blank=True, default="", db_default="")
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False, db_default=False)
    # Who deleted it: "author", or "owner" (moderation); "" for deletions recorded before this field.
    deleted_by = models.CharField(max_length=8, blank=True, default="", db_default="")
    # The message's position in the room's event log (null only for rows written outside the
    # services, which are not part of the log).
    seq = models.BigIntegerField(null=True, blank=True)
    # The log position of the message's latest change (0 when never changed): a resuming client
    # asks for every message whose change_seq is above the last position it saw.
    change_seq = models.BigIntegerField(default=0, db_default=0)
    # The message of the same room this one answers; a deleted parent stays (as a placeholder),
    # so this is cleared only when the parent row goes with a purge.
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")

    # A "/me" message: shown as "* NAME body".
    action = models.BooleanField(default=False, db_default=False)
    # Pinned by the room's owner: shown in the page's pinned bar (at most PINS_MAX per room).
    pinned = models.BooleanField(default=False, db_default=False)
    # Posted with a room bot token (HTTP API or webhook): pages always badge it "bot", whatever its name.
    bot = models.BooleanField(default=False, db_default=False)
    # In an encrypted room: the body's AES-GCM ciphertext and its 96-bit IV, base64; body stays "".
    ciphertext = models.TextField(blank=True, default="", db_default="")
    iv = models.CharField(max_length=24, blank=True, default="", db_default="")

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["room", "id"], name="message_room_id"),
            models.Index(fields=["room", "change_seq"], name="message_room_change_seq"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_unique_seq_per_room"),
            models.UniqueConstraint(
                fields=["room", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_unique_client_id_per_room",
            ),
        ]

    def __str__(self):
        return f"#{self.id} {self.name}: {'(encrypted)' if self.ciphertext else self.body[:40]}"


class ServerProcess(models.Model):
    """A running server process; its heartbeat keeps the presence it holds alive."""

    id = models.CharField(primary_key=True, max_length=64)
    heartbeat_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.id


class Presence(models.Model):
    """One open websocket connection in a room. Rows of a process that stopped beating expire."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="presences")
    server = models.ForeignKey(ServerProcess, on_delete=models.CASCADE, related_name="presences")
    channel_name = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=32)
    # What names are compared by (validation.name_key), indexed so that "is this name taken here?"
    # is one lookup however many are in the room. NFKC can make a name longer than it was.
    name_key = models.CharField(max_length=640, blank=True, default="", db_default="")
    session_key = models.CharField(max_length=64)
    ip = models.CharField(max_length=64, blank=True, default="", db_default="")  # where a kick's ban applies
    connected_at = models.DateTimeField(auto_now_add=True)
    # When the connection closed: it still counts for PRESENCE_GRACE_SECONDS, so a member who
    # comes straight back (a refresh, a deploy) is neither announced as gone nor as arriving.
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["room", "name_key"], name="presence_room_name_key")]

    def __str__(self):
        return f"{self.name} in {self.room_id}"


class Watcher(models.Model):
    """One open read-only connection through a room's watch link: counted, never listed as a member.
    Rows of a process that stopped beating go with it, like presence."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="watchers")
    server = models.ForeignKey(ServerProcess, on_delete=models.CASCADE, related_name="watchers")
    channel_name = models.CharField(max_length=128, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"watcher in {self.room_id}"


class RoomSanction(models.Model):
    """A moderation decision against one session in one room, in force until `until`."""

    KICK = "kick"  # cannot rejoin
    MUTE = "mute"  # can read, cannot send
    KINDS = [(KICK, "kicked"), (MUTE, "muted")]

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="sanctions")
    session_key = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=KINDS)
    until = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["room", "session_key"], name="sanction_room_session")]

    def __str__(self):
        return f"{self.kind} {self.session_key[:6]} in {self.room_id} until {self.until}"


class RoomBan(models.Model):
    """An address a kicked member connected from: no new session from it may join the room until
    `until` (sessions already admitted from it stay). The owner sees it by the kicked name."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bans")
    ip = models.CharField(max_length=64)
    name = models.CharField(max_length=32)
    until = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["room", "ip"], name="ban_room_ip")]

    def __str__(self):
        return f"ban of {self.name} in {self.room_id} until {self.until}"


class MessageChange(models.Model):
    """One edit, deletion or reaction change: an event of the room's log at position `seq`; a
    message's change_seq is the seq of its latest change."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="changes")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16)  # edit, delete, reaction
    created_at = models.DateTimeField(auto_now_add=True)
    seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="change_unique_seq_per_room")]

    def __str__(self):
        return f"{self.kind} of #{self.message_id}"


class Reaction(models.Model):
    """One person's (one session's) reaction to a message with one emoji of REACTION_EMOJI."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    author_key = models.CharField(max_length=64)
    name = models.CharField(max_length=32)
    emoji = models.CharField(max_length=8)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "author_key", "emoji"], name="reaction_unique_per_session")
        ]

    def __str__(self):
        return f"{self.emoji} by {self.name} on #{self.message_id}"


class Attachment(models.Model):
    """An image uploaded by a member of a room, re-encoded and thumbnailed; attached to the message
    it was sent with (until then `message` is null). Its files go with it (rooms/signals.py)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    author_key = models.CharField(max_length=64)  # the uploading session's hash, as a message's
    image = models.FileField(max_length=200)
    thumb = models.FileField(max_length=200)
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"image {self.id} in {self.room_id}"


class BotToken(models.Model):
    """A room's bot: a name and the hash of a bearer token that posts to the room through the HTTP API
    or its incoming webhook (docs/protocol.md, "Bots and webhooks"). The token is shown once, to the
    owner who made it; only its SHA-256 is kept (it is random and long, so a slow hash adds nothing)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bot_tokens")
    name = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["room", "name"], name="bot_token_unique_name_per_room")]

    def __str__(self):
        return f"bot {self.name} in {self.room_id}"
