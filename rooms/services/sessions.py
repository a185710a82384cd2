"""What a browser session remembers of rooms: its name, the rooms it owns or was admitted to, and
the watch links it made."""

from django.conf import settings


def load_session(session_key):
    """The session with this key, loaded fresh (not a connection's cached copy), or None if gone."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    store.get("name")  # loads it; a missing or expired session leaves no key
    return store if store.session_key else None


OWNED_ROOMS_SESSION_KEY = "owned_rooms"  # session: {room code: owner key}


def owner_key_in_session(session, code):
    owned = session.get(OWNED_ROOMS_SESSION_KEY) if session is not None else None
    return owned.get(code) if isinstance(owned, dict) else None


def remember_owner_key(session, code, key):
    owned = dict(session.get(OWNED_ROOMS_SESSION_KEY) or {})
    owned[code] = key
    session[OWNED_ROOMS_SESSION_KEY] = owned


ADMITTED_ROOMS_SESSION_KEY = "admitted_rooms"  # session: codes whose passphrase it gave


WATCH_LINKS_SESSION_KEY = "watch_links"  # session: {room code: watch token} the owner created


def remember_watch_token(session, code, token):
    links = dict(session.get(WATCH_LINKS_SESSION_KEY) or {})
    links[code] = token
    session[WATCH_LINKS_SESSION_KEY] = links


def read_session(session):
    """The display name and session key, or Nones (loading a session queries the database)."""
    if session is None:
        return None, None
    return session.get("name"), session.session_key


JOINED_ROOMS_SESSION_KEY = "joined_rooms"  # session: codes of the rooms it was admitted to, newest last
JOINED_ROOMS_KEPT = 50


def remember_joined(session, code):
    """The session was admitted to this room (its page was shown): it may always come back.
    Already the newest entry (a reload): nothing changes, so the session is not written again."""
    remembered = session.get(JOINED_ROOMS_SESSION_KEY) or []
    if remembered and remembered[-1] == code:
        return
    joined = [each for each in remembered if each != code]
    session[JOINED_ROOMS_SESSION_KEY] = [*joined[-(JOINED_ROOMS_KEPT - 1) :], code]


def has_joined(session, code):
    return session is not None and code in (session.get(JOINED_ROOMS_SESSION_KEY) or [])


def recent_room_codes(session, limit):
    """The codes of the last `limit` rooms the session was admitted to, newest first."""
    return list(reversed(session.get(JOINED_ROOMS_SESSION_KEY) or []))[:limit]
