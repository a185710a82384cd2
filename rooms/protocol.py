"""The wire: every frame of the websocket protocol (docs/protocol.md) and its close codes, once.

A function here returns either an encoded frame (text for one client) or a hub event: a dict whose
`type` names the connection handler ("chat.message" → `chat_message`) and whose `text` is the
encoded frame, so fan-out to N connections costs one `json.dumps`, not N.
"""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings
from django.utils import timezone

from rooms.limits import REACTION_EMOJI, REPLY_EXCERPT_CHARS

# Close codes: 4000-4999 are the application's; why a connection was refused or ended.
CLOSE_NO_NAME = 4001
CLOSE_FORBIDDEN_ORIGIN = 4003
CLOSE_ROOM_NOT_FOUND = 4004
CLOSE_TOO_SLOW = 4008
CLOSE_ROOM_REMOVED = 4010
CLOSE_KICKED = 4011  # removed by the room's owner, or trying to rejoin too soon after
CLOSE_ROOM_EXPIRED = 4012  # the room reached the expiry time its owner set
CLOSE_PASSPHRASE = 4013  # the room has a passphrase this session has not given
CLOSE_WATCH_LINK = 4014  # the watch link is wrong, or its owner revoked or replaced it
CLOSE_LOCKED = 4023  # the owner locked the room against new members
CLOSE_RATE_LIMITED = 4029  # too many unknown room codes tried from this IP, or too many connects or joins
CLOSE_TOO_MANY_CONNECTIONS = 4030  # this IP already holds WS_MAX_CONNECTIONS_PER_IP open sockets
CLOSE_RESUME = 1012  # "service restart": reconnect (and resume after the last message id)
CLOSE_UNAVAILABLE = 1013  # the standard "try again later": the database did not answer

# Hub events without a frame: the room was deleted by an operator, or reached its expiry time.
ROOM_REMOVED = {"type": "room.removed"}
ROOM_EXPIRED = {"type": "room.expired"}


def format_timestamp(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_to_dict(message, seq=None):
    """A message as the wire protocol's `message` frame; `seq` is the log position of the event the
    frame reports (by default the message's latest: its change, or its storing)."""
    return {
        "type": "message",
        "id": message.id,
        "name": message.name,
        "body": message.body,
        "ts": format_timestamp(message.created_at),
        "client_id": message.client_id,
        "author": author_tag(message.room_id, message.author_key),
        **rich_fields(message),
        **conversation_fields(message),
        **sealed_fields(message),
        "seq": seq if seq is not None else max(message.seq or 0, message.change_seq),
    }


def author_tag(room_id, author_key):
    """What the wire shows of a message's author: the same opaque tag for every message of one
    session in one room, so a page can tell its own messages from a namesake's. Keyed per room
    and with the secret key, so it neither links a session across rooms nor reveals its key."""
    if not author_key:
        return None
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{room_id}:{author_key}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def sealed_fields(message):
    """An encrypted room's message carries its ciphertext and IV (its `body` stays ""); a deleted
    one carries neither."""
    if not message.ciphertext or message.deleted:
        return {}
    return {"ciphertext": message.ciphertext, "iv": message.iv}


def rich_fields(message):
    """The edit/delete/reaction fields of a message frame. Reactions appear only when they were
    prefetched (history, changes): a message just posted has none, and async callers cannot query."""
    fields = {
        "edited": format_timestamp(message.edited_at) if message.edited_at else None,
        "deleted": message.deleted,
    }
    if message.deleted:
        fields["body"] = ""
        # Only authors could delete before `deleted_by` was recorded.
        fields["deleted_by"] = message.deleted_by or "author"
    cache_ = getattr(message, "_prefetched_objects_cache", {})
    if "reactions" in cache_ and not message.deleted:
        fields["reactions"] = summarize_reactions(cache_["reactions"], message.room_id)
    return fields


def conversation_fields(message):
    """The reply, action and pin fields of a message frame, each present only when it says something
    (absent means no reply, not an action, not pinned). The parent must be loaded with the message
    (`Message.objects.for_wire()`, or set when it was stored): async callers cannot query."""
    fields = {}
    if message.reply_to_id is not None:
        fields["reply_to"] = reply_summary(message.reply_to)
    if message.action:
        fields["action"] = True
    if message.bot:
        fields["bot"] = True
    if message.pinned and not message.deleted:
        fields["pinned"] = True
    attachments = getattr(message, "_prefetched_objects_cache", {}).get("attachments")
    if attachments and not message.deleted:
        fields["attachments"] = [attachment_summary(attachment) for attachment in attachments]
    return fields


def attachment_summary(attachment):
    """An image of a message as frames show it: where its file and thumbnail are served (to the
    room's members only) and its size."""
    return {
        "id": attachment.id,
        "url": f"/uploads/{attachment.id}/image",
        "thumb_url": f"/uploads/{attachment.id}/thumb",
        "width": attachment.width,
        "height": attachment.height,
    }


def reply_summary(parent):
    """What a reply shows of its parent: who wrote it and the start of its text (none once deleted)."""
    if parent.deleted:
        return {"id": parent.id, "name": parent.name, "excerpt": "", "deleted": True}
    summary = {"id": parent.id, "name": parent.name, "excerpt": excerpt(parent.body)}
    if parent.ciphertext:
        summary["encrypted"] = True  # no excerpt: the page quotes the parent it decrypted
    if parent.action:
        summary["action"] = True
    return summary


def excerpt(body):
    """The first REPLY_EXCERPT_CHARS characters of a body on one line, with "…" when cut."""
    text = " ".join(body.split())
    return text if len(text) <= REPLY_EXCERPT_CHARS else text[: REPLY_EXCERPT_CHARS - 1].rstrip() + "…"


def summarize_reactions(reactions, room_id):
    """[{"emoji", "count", "names", "authors"}] in REACTION_EMOJI order, only emoji someone chose;
    `authors` are the reacting sessions' author tags, so a page knows which chips are its own."""
    chosen = {}
    for reaction in reactions:
        chosen.setdefault(reaction.emoji, []).append(reaction)
    return [
        {
            "emoji": emoji,
            "count": len(chosen[emoji]),
            "names": [reaction.name for reaction in chosen[emoji]],
            "authors": [author_tag(room_id, reaction.author_key) for reaction in chosen[emoji]],
        }
        for emoji in REACTION_EMOJI
        if emoji in chosen
    ]


def encode(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def message_event(message, seq=None):
    """A message stored at log position `seq` (by default its own), as a hub event of the log."""
    seq = message.seq if seq is None else seq
    return {"type": "chat.message", "id": message.id, "seq": seq, "text": encode(message_to_dict(message, seq))}


def join_event(name):
    return _system_event("join", name=name)


def leave_event(name):
    return _system_event("leave", name=name)


def rename_event(old, new):
    return _system_event("rename", old=old, new=new, name=new)


def _system_event(event, **fields):
    frame = {"type": "system", "event": event, **fields, "ts": format_timestamp(timezone.now())}
    return {"type": "chat.system", "text": encode(frame)}


def presence_event(members, watchers=0):
    """The member list, and how many people read along through the watch link (not members)."""
    return {"type": "chat.presence", "text": encode({"type": "presence", "members": members, "watchers": watchers})}


def history_frame(messages, has_more, **extra):
    return encode(
        {"type": "history", "messages": [message_to_dict(m) for m in messages], "has_more": has_more, **extra}
    )


def error_frame(code, detail, **extra):
    """`detail` may be lazy (gettext_lazy): it is translated here, in the language active now."""
    return encode({"type": "error", "code": code, "detail": str(detail), **extra})


def member_renamed_event(session_key, old, new):
    """The rename notice, carrying the session so that session's other connections adopt the new
    name; they alone get the frame with `"you":true`, which tells a page its own name changed."""
    event = rename_event(old, new)
    own = {**json.loads(event["text"]), "you": True}
    return {**event, "type": "chat.rename", "session_key": session_key, "name": new, "own_text": encode(own)}


def typing_event(session_key, name):
    """Someone is typing: delivered to everyone in the room except that person's own connections."""
    return {"type": "chat.typing", "session_key": session_key, "text": encode({"type": "typing", "name": name})}


def iso(moment):
    return format_timestamp(moment) if moment is not None else None


def room_state_frame(owner, locked, muted_until, **extra):
    """This connection's standing in the room, sent on join when not the default."""
    return encode({"type": "room_state", "owner": owner, "locked": locked, "muted_until": iso(muted_until), **extra})


def owner_state_frame(owner, **extra):
    return encode({"type": "room_state", "owner": owner, **extra})


def moderation_event(event, name, **fields):
    """The system notice everyone sees for an owner's action (kick, mute, lock, unlock, owner)."""
    return _system_event(event, name=name, **fields)


def bans_event(bans):
    """The room's bans in force (`active_bans`), for its owners' connections only."""
    return {"type": "room.bans", "text": encode({"type": "room_state", "bans": bans})}


def bot_tokens_event(tokens):
    """The room's bot tokens (`bot_tokens`: names and creation times), for its owners' connections."""
    return {"type": "room.bot_tokens", "text": bot_tokens_frame(tokens)}


def bot_tokens_frame(tokens):
    return encode({"type": "bot_tokens", "tokens": tokens})


def bot_token_frame(name, token, webhook_url):
    """A token just made, for the connection of the owner who made it: shown this once."""
    return encode({"type": "bot_token", "name": name, "token": token, "webhook_url": webhook_url})


def kicked_event(session_keys):
    return {"type": "room.kicked", "session_keys": list(session_keys)}


def muted_event(session_keys, until):
    # Updates carry only what changed. `until` is epoch seconds: hub events cross the channel layer.
    frame = {"type": "room_state", "muted_until": iso(until)}
    return {"type": "room.muted", "session_keys": list(session_keys), "until": until.timestamp(), "text": encode(frame)}


def room_locked_event(locked):
    return {"type": "room.locked", "locked": locked, "text": encode({"type": "room_state", "locked": locked})}


def ownership_event(session_keys, owner_key, watch_active=False):
    return {
        "type": "room.ownership",
        "session_keys": list(session_keys),
        "owner_key": owner_key,
        "watch_active": watch_active,
    }


def with_expiry(text, expires_at):
    frame = json.loads(text)
    frame["expires_at"] = iso(expires_at)
    return encode(frame)


def expiry_event(name, expires_at):
    """Everyone learns the new expiry: a system notice and a room_state update."""
    notice = _system_event("expiry", name=name, expires_at=iso(expires_at))
    state = encode({"type": "room_state", "expires_at": iso(expires_at)})
    return {"type": "room.expiry", "notice": notice["text"], "text": state}


def message_changed_event(message, seq=None):
    """An edit, deletion or reaction change at log position `seq` (by default the message's latest
    change): the message's whole current state. No `id` key on the event, so one arriving while
    history is sent is always delivered (applying a state twice is harmless)."""
    seq = message.change_seq if seq is None else seq
    # A change always says whether the message is pinned: unpinning is a change too.
    frame = {
        **message_to_dict(message, seq),
        "type": "message_changed",
        "pinned": message.pinned and not message.deleted,
    }
    return {"type": "chat.message_changed", "seq": seq, "text": encode(frame)}


def log_event(seq, kind, message):
    """An event read back from the room's log (services/log.py `events_between`) as a hub event."""
    return message_event(message, seq) if kind == "message" else message_changed_event(message, seq)


def synced_frame(after_seq, seq, complete):
    """Ends the answer to a `sync` frame: every event after `after_seq` up to `seq` was sent;
    `complete` false means more followed meanwhile or did not fit one page (ask again)."""
    return encode({"type": "synced", "after_seq": after_seq, "seq": seq, "complete": complete})


def watch_link_state(path, active=None):
    """For owners' connections: whether a watch link is live, and its path (null when there is
    none, or when this owner's session does not know its token)."""
    active = path is not None if active is None else active
    return encode({"type": "room_state", "watch_active": active, "watch_link": path})


def watch_link_event(name, watch_hash, path):
    """The owner created (or replaced) or revoked the watch link. Everyone gets a system notice (a
    member should know the room can be read from outside); owners' connections get the link; watchers
    whose token is no longer `watch_hash` (the current token's hash, "" once revoked) are closed."""
    notice = _system_event("watch_on" if watch_hash else "watch_off", name=name)
    return {
        "type": "room.watch_link",
        "watch_hash": watch_hash,
        "notice": notice["text"],
        "text": watch_link_state(path),
    }


def command_done_frame(command, client_id):
    """A slash command that stores no message (/nick) was carried out: the sender's client_id is
    confirmed, as a stored message's echo would confirm it."""
    return encode({"type": "command_done", "command": command, "client_id": client_id})


def pins_frame(messages):
    """The room's pinned messages, oldest first, answering a `pins` frame."""
    return encode({"type": "pins", "messages": [message_to_dict(m) for m in messages]})


def search_results_frame(messages, has_more, q, **extra):
    """The messages matching `q`, newest first, answering a `search` frame (echoing its `before`)."""
    frame = {"type": "search_results", "q": q, **extra}
    return encode({**frame, "messages": [message_to_dict(m) for m in messages], "has_more": has_more})


def history_around_frame(around, messages, has_more, next_id):
    """A page of history centred on message `around`, oldest first, answering `history` with
    `around`; `next_id` is the first message after the page (a page that shows it has no gap
    there). Its own type: a client that knows only `history` frames must not take it for the
    newest page."""
    return encode(
        {
            "type": "history_around",
            "around": around,
            "messages": [message_to_dict(m) for m in messages],
            "has_more": has_more,
            "has_newer": next_id is not None,
            "next_id": next_id,
        }
    )
