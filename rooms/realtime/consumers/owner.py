"""The owner's frames (kick, mute, lock, transfer, passphrase, expiry, watch link), and how every
member's connection follows the owner's decisions."""

import asyncio
from datetime import UTC, datetime

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rooms.limits import owner_frame_rate
from rooms.protocol import (
    CLOSE_KICKED,
    bans_event,
    expiry_event,
    kicked_event,
    moderation_event,
    muted_event,
    owner_state_frame,
    ownership_event,
    room_locked_event,
    room_state_frame,
    watch_link_event,
    watch_link_state,
    with_expiry,
)
from rooms.realtime.db_threads import main_db, side_db
from rooms.realtime.flow import TokenBucket
from rooms.services.moderation import (
    active_bans,
    check_owner,
    hash_passphrase,
    is_owner,
    kick_member,
    lift_ban,
    mute_member,
    set_expiry,
    set_locked,
    set_passphrase,
    transfer_ownership,
)
from rooms.services.sessions import remember_watch_token
from rooms.services.watch import current_watch_hash, set_watch_link, watch_token_in_session
from rooms.validation import check_rate


class OwnerFrames:
    """Handlers of the owner's frames (the services refuse anyone else with `forbidden`)."""

    owner_key = None
    owner_bucket = None

    def check_owner_rate(self):
        """Owner frames have a token bucket of their own per connection (OWNER_RATE_*)."""
        if self.owner_bucket is None:
            self.owner_bucket = TokenBucket(*owner_frame_rate())
        check_rate(self.owner_bucket, _("You are changing the room too fast; wait a moment."))

    async def send_room_state(self):
        """Tell this connection what is not the default: that it owns the room, the room is locked,
        or it is muted. Rooms without an owner's action send nothing extra."""
        if not self.joined:
            return
        owner = await side_db(is_owner)(self.room, self.owner_key)
        locked = self.room.locked
        if owner or locked or self.muted_until or self.room.expires_at:
            bans = await side_db(active_bans)(self.room) if owner else []
            extra = {"bans": bans} if bans else {}  # none in force is the default: not said
            frame = room_state_frame(owner=owner, locked=locked, muted_until=self.muted_until, **extra)
            self.push(with_expiry(frame, self.room.expires_at))
        if owner and self.room.watch_token_hash:
            # Owners see the live watch link (to share or revoke it); its token is known to the
            # session that made it, so other owner sessions learn only that there is one.
            token = await side_db(watch_token_in_session)(self.room, self.scope.get("session"))
            self.push(watch_link_state(self.watch_path(token) if token else None, active=True))

    async def receive_kick(self, frame):
        self.check_owner_rate()
        targets = await main_db(kick_member)(self.room, self.owner_key, frame.get("name"))
        await self.hub.publish(self.code, moderation_event("kick", frame["name"].strip(), by=self.name))
        await self.hub.publish(self.code, kicked_event(targets))
        await self.hub.publish(self.code, bans_event(await side_db(active_bans)(self.room)))

    async def receive_unban(self, frame):
        self.check_owner_rate()
        bans = await main_db(lift_ban)(self.room, self.owner_key, frame.get("id"))
        await self.hub.publish(self.code, bans_event(bans))

    async def receive_mute(self, frame):
        self.check_owner_rate()
        targets, until = await main_db(mute_member)(self.room, self.owner_key, frame.get("name"), frame.get("minutes"))
        notice = moderation_event("mute", frame["name"].strip(), by=self.name, minutes=frame["minutes"])
        await self.hub.publish(self.code, notice)
        await self.hub.publish(self.code, muted_event(targets, until))

    async def receive_lock(self, frame):
        self.check_owner_rate()
        locked = await main_db(set_locked)(self.room, self.owner_key, frame.get("locked"))
        await self.hub.publish(self.code, moderation_event("lock" if locked else "unlock", self.name))
        await self.hub.publish(self.code, room_locked_event(locked))

    async def receive_transfer(self, frame):
        self.check_owner_rate()
        new_key, targets = await main_db(transfer_ownership)(self.room, self.owner_key, frame.get("to"))
        self.owner_key = None
        self.push(owner_state_frame(False))
        await self.hub.publish(self.code, moderation_event("owner", frame["to"].strip(), by=self.name))
        watch_active = bool(await main_db(current_watch_hash)(self.room))
        await self.hub.publish(self.code, ownership_event(targets, new_key, watch_active))

    async def receive_passphrase(self, frame):
        self.check_owner_rate()
        # Only the owner's frames may cost a password hash, and that quarter second of CPU runs in a
        # worker thread: on the main database thread it would hold up the message writer.
        await side_db(check_owner)(self.room, self.owner_key)
        passphrase = await asyncio.to_thread(hash_passphrase, frame.get("passphrase"))
        has_passphrase = await main_db(set_passphrase)(self.room, self.owner_key, passphrase)
        event = "passphrase_set" if has_passphrase else "passphrase_removed"
        await self.hub.publish(self.code, moderation_event(event, self.name))

    async def receive_expiry(self, frame):
        self.check_owner_rate()
        expires_at = await main_db(set_expiry)(self.room, self.owner_key, frame.get("hours"))
        await self.hub.publish(self.code, expiry_event(self.name, expires_at))

    async def receive_watch_link(self, frame):
        self.check_owner_rate()
        token = await main_db(set_watch_link)(self.room, self.owner_key, frame.get("active"))
        path = None
        if token is not None:
            path = self.watch_path(token)
            # Kept in the owner's session, so the room menu shows the link again after a reload.
            session = self.scope.get("session")
            if session is not None:
                remember_watch_token(session, self.code, token)
                await main_db(session.save)()
        await self.hub.publish(self.code, watch_link_event(self.name, self.room.watch_token_hash, path))

    def watch_path(self, token):
        return reverse("rooms:watch", kwargs={"code": self.code, "token": token})

    # --- hub events of the owner's decisions ----------------------------------------------------

    def room_expiry(self, event):
        self.push(event["notice"])
        self.push(event["text"])

    def room_kicked(self, event):
        if self.session_key in event["session_keys"]:
            self.end("kicked", _("The owner removed you from this room."), CLOSE_KICKED)

    def room_bans(self, event):
        if self.owner_key is not None:
            self.push(event["text"])

    def room_muted(self, event):
        if self.session_key in event["session_keys"]:
            self.muted_until = datetime.fromtimestamp(event["until"], UTC)
            self.push(event["text"])

    def room_locked(self, event):
        self.room.locked = event["locked"]
        self.push(event["text"])

    def room_ownership(self, event):
        if self.session_key in event["session_keys"]:
            # The new key travels inside the server (hub, channel layer), and on the wire only to the
            # new owner's own connections, as its owner link.
            self.owner_key = event["owner_key"]
            link = reverse("rooms:claim_owner", kwargs={"code": self.code, "key": self.owner_key})
            self.push(owner_state_frame(True, owner_link=link, watch_active=bool(event.get("watch_active"))))
        elif self.owner_key is not None:
            self.owner_key = None  # the old owner's key no longer matches (other tabs of the giver)
            self.push(owner_state_frame(False))

    def room_watch_link(self, event):
        self.push(event["notice"])
        if self.owner_key is not None:
            self.push(event["text"])
