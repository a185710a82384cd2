"""Django's database sessions, less a query for every new visitor and cheaper to load.

Django looks a new session key up before inserting it, and draws its 32 characters with 32 calls
to the system's random source. The INSERT refuses a duplicate key anyway (`create` then draws
another), and one draw of 192 bits gives the same 32 characters of [a-z0-9].

Every room page and every socket loads its session: that read is a prepared one (compiled once).
"""

import datetime
import secrets

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from chatsite.prepared_reads import PreparedRead

KEY_LENGTH = 32


session_in_force = PreparedRead(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
    key=str,
    now=datetime.datetime,
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        found = session_in_force(key=self.session_key, now=timezone.now())
        if not found:
            self._session_key = None
            return None
        return found[0]

    def _get_new_session_key(self):
        number, characters = secrets.randbits(192), []
        for _ in range(KEY_LENGTH):
            number, index = divmod(number, len(VALID_KEY_CHARS))
            characters.append(VALID_KEY_CHARS[index])
        return "".join(characters)
