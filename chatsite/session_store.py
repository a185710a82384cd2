"""Django's database sessions, less a query for every new visitor.

Django looks a new session key up before inserting it, and draws its 32 characters with 32 calls
to the system's random source. The INSERT refuses a duplicate key anyway (`create` then draws
another), and one draw of 192 bits gives the same 32 characters of [a-z0-9].
"""

import secrets

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

KEY_LENGTH = 32


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self):
        number, characters = secrets.randbits(192), []
        for _ in range(KEY_LENGTH):
            number, index = divmod(number, len(VALID_KEY_CHARS))
            characters.append(VALID_KEY_CHARS[index])
        return "".join(characters)
