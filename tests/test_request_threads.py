"""The ASGI handler's own parts: requests on a few long-lived threads that keep their database
connection (on SQLite; PostgreSQL's pool keeps it there), and synchronous streaming responses
read a slice at a time as they are sent."""

import threading

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from channels.testing import HttpCommunicator
from django.core import signals
from django.http import HttpResponse
from django.urls import path

from chatsite.request_threads import STREAM_SLICE_BYTES, RequestThreadsHandler, in_slices

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_synchronous_stream_is_read_in_slices_as_it_is_consumed():
    produced = []

    def chunks():
        for number in range(40):
            produced.append(number)
            yield bytes([number % 256]) * 8192

    async def first_and_rest():
        stream = in_slices(chunks())
        first = await anext(stream)
        read_before_rest = len(produced)
        rest = [part async for part in stream]
        return first, read_before_rest, rest

    first, read_before_rest, rest = async_to_sync(first_and_rest)()
    assert len(first) == STREAM_SLICE_BYTES
    assert read_before_rest < 40  # not the whole iterator up front
    assert first + b"".join(rest) == b"".join(bytes([n]) * 8192 for n in range(40))


def test_requests_run_on_the_handlers_threads_and_keep_their_connection(settings):
    handler = RequestThreadsHandler(2)
    seen = []

    def app_view(request):
        from django.db import connection
        from django.http import HttpResponse

        connection.ensure_connection()
        seen.append((threading.current_thread().name, id(connection.connection)))
        return HttpResponse("ok")

    # Two requests, one after the other, land on the least busy (the first) thread.
    async def two_requests():
        return [
            await HttpCommunicator(handler, "GET", "/probe/", headers=[(b"host", b"127.0.0.1")]).get_response()
            for _ in range(2)
        ]

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("probe/", app_view)]})
    responses = async_to_sync(two_requests)()
    assert [r["status"] for r in responses] == [200, 200]
    (thread, first_connection), (same_thread, second_connection) = seen
    assert thread.startswith("request-") and same_thread == thread
    # SQLite keeps the thread's connection; PostgreSQL hands it back to its pool after each request.
    from django.db import connection

    if connection.vendor == "sqlite":
        assert second_connection == first_connection


def test_a_page_takes_one_hop_to_its_thread_with_both_request_signals_on_it(settings, monkeypatch):
    """Django's own handler hops to the request's thread three times (request_started, the view,
    the close that sends request_finished); a page already in memory goes there once."""
    handler = RequestThreadsHandler(1)
    hops, seen = [], []
    hop = SyncToAsync.__call__

    def counting_hop(self, *args, **kwargs):
        hops.append(self.func)
        return hop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting_hop)

    def record(name):
        def receiver(**kwargs):
            seen.append((name, threading.current_thread().name))

        return receiver

    started, finished = record("started"), record("finished")
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)

    def page(request):
        seen.append(("view", threading.current_thread().name))
        return HttpResponse("a page")

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("page/", page)]})
    try:
        response = async_to_sync(
            HttpCommunicator(handler, "GET", "/page/", headers=[(b"host", b"127.0.0.1")]).get_response
        )()
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert (response["status"], response["body"]) == (200, b"a page")
    assert len(hops) == 1
    assert [name for name, _ in seen] == ["started", "view", "finished"]
    assert {thread for _, thread in seen} == {"request-0_0"}
