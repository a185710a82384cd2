"""Wire frames of the websocket protocol (docs/protocol.md), each encoded to JSON once.

A function here returns a hub event: a dict whose `type` names the connection handler and whose
`text` is the encoded frame, so fan-out to N connections costs one `json.dumps`, not N.
"""

import json

from django.utils import timezone

from . import services


def encode(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def message_event(message):
    return {"type": "chat.message", "id": message.id, "text": encode(services.message_to_dict(message))}


def join_event(name):
    return _system_event("join", name=name)


def leave_event(name):
    return _system_event("leave", name=name)


def rename_event(old, new):
    return _system_event("rename", old=old, new=new, name=new)


def _system_event(event, **fields):
    frame = {"type": "system", "event": event, **fields, "ts": services.format_timestamp(timezone.now())}
    return {"type": "chat.system", "text": encode(frame)}


def presence_event(members, watchers=0):
    """The member list, and how many people read along through the watch link (not members)."""
    return {"type": "chat.presence", "text": encode({"type": "presence", "members": members, "watchers": watchers})}


def history_frame(messages, has_more, **extra):
    return encode(
        {"type": "history", "messages": [services.message_to_dict(m) for m in messages], "has_more": has_more, **extra}
    )


def error_frame(code, detail, **extra):
    return encode({"type": "error", "code": code, "detail": detail, **extra})


def member_renamed_event(session_key, old, new):
    """The rename notice, carrying the session so that session's other connections adopt the new
    name; they alone get the frame with `"you":true`, which tells a page its own name changed."""
    event = rename_event(old, new)
    own = {**json.loads(event["text"]), "you": True}
    return {**event, "type": "chat.rename", "session_key": session_key, "name": new, "own_text": encode(own)}


def typing_event(session_key, name):
    """Someone is typing: delivered to everyone in the room except that person's own connections."""
    return {"type": "chat.typing", "session_key": session_key, "text": encode({"type": "typing", "name": name})}


# --- owner controls (issue 9) -----------------------------------------------------------------


def iso(moment):
    return services.format_timestamp(moment) if moment is not None else None


def room_state_frame(owner, locked, muted_until, **extra):
    """This connection's standing in the room, sent on join when not the default."""
    return encode({"type": "room_state", "owner": owner, "locked": locked, "muted_until": iso(muted_until), **extra})


def owner_state_frame(owner, **extra):
    return encode({"type": "room_state", "owner": owner, **extra})


def moderation_event(event, name, **fields):
    """The system notice everyone sees for an owner's action (kick, mute, lock, unlock, owner)."""
    return _system_event(event, name=name, **fields)


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


def message_changed_event(message):
    """An edit, deletion or reaction change: the message's whole current state, ordered by `seq`.
    No `id` key on the event, so one arriving while history is sent is always delivered (applying
    a state twice is harmless)."""
    frame = {**services.message_to_dict(message), "type": "message_changed"}
    return {"type": "chat.message_changed", "text": encode(frame)}


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
