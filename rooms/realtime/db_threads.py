"""Which thread runs a database call from the event loop.

Channels runs every `database_sync_to_async` call of a process on one thread (thread_sensitive):
`main_db`. The message writer shares it, so calls whose events must be published in commit order
go there too. On PostgreSQL a join storm would then queue thousands of reads and presence writes
(~100 ms of that thread per join under load) ahead of the writer's batches, and every message
would wait seconds: calls that need no order with the writer's batches run on side threads
(`side_db`) instead. SQLite keeps the single thread: writers on several threads there contend for
its one lock ("database is locked").
"""

import functools
import itertools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django import db
from django.conf import settings

main_db = database_sync_to_async

SIDE_DB_THREADS = 4
_side_executors = [
    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-side-{number}") for number in range(SIDE_DB_THREADS)
]
_next_side_executor = itertools.count()


def closing_connection(func):
    # Every call gives its connection back (to the psycopg pool), whether it failed or not: an idle
    # thread must not hold one. (database_sync_to_async does this too, but Channels' test
    # communicator switches that off while it runs, and a connection left open blocks dropping the
    # test database.)
    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            db.connection.close()

    return call


def keeping_connection(func):
    # Channels' database_sync_to_async would close and reopen the connection around every call
    # (CONN_MAX_AGE is 0, as Django advises under ASGI), which costs more than a batch INSERT.
    # The thread keeps it between calls instead; one that failed is dropped. A pooled connection
    # (PostgreSQL) goes back to the pool, which costs next to nothing.
    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except Exception:
            db.connection.close()
            raise
        if getattr(db.connection, "pool", None) is not None:
            db.connection.close()
        return result

    return call


def main_db_closing(func):
    """`func` as an awaitable on the main database thread, giving its connection back after."""
    return sync_to_async(closing_connection(func), thread_sensitive=True)


def main_db_keeping(func):
    """`func` as an awaitable on the main database thread, keeping its connection (hot path)."""
    return sync_to_async(keeping_connection(func), thread_sensitive=True)


def side_db(func, key=None):
    """`func` as an awaitable, on a side database thread on PostgreSQL (the same thread for the same
    `key`, so calls sharing a key keep their order) or on the main database thread on SQLite."""
    # From the settings: asking the connection would create a database handle in every context.
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return database_sync_to_async(func)
    number = hash(key) if key is not None else next(_next_side_executor)
    executor = _side_executors[number % SIDE_DB_THREADS]
    return sync_to_async(closing_connection(func), thread_sensitive=False, executor=executor)
