"""New sessions: one INSERT, keys like Django's, and a key that is taken is drawn again."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatsite.session_store import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_costs_one_insert_and_gets_a_key_like_djangos():
    store = SessionStore()
    store["name"] = "Ann"
    with CaptureQueriesContext(connection) as queries:
        store.create()
    statements = [query["sql"].split()[0].upper() for query in queries]
    assert statements.count("INSERT") == 1 and "SELECT" not in statements, statements
    assert re.fullmatch(r"[a-z0-9]{32}", store.session_key)
    assert SessionStore(store.session_key).get("name") == "Ann"
    assert len({SessionStore()._get_new_session_key() for _ in range(1000)}) == 1000


def test_a_key_already_taken_is_drawn_again_and_the_other_session_is_left_alone(monkeypatch):
    first = SessionStore()
    first["name"] = "Ann"
    first.create()
    draws = iter([first.session_key, "b" * 32])
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(draws))
    second = SessionStore()
    second["name"] = "Bob"
    second.create()
    assert second.session_key == "b" * 32
    assert Session.objects.count() == 2
    assert SessionStore(first.session_key).get("name") == "Ann"
