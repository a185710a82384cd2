"""Reads on the join path compiled to SQL once, not on every call.

Building and compiling a small QuerySet costs Django about 0.35 ms of CPU; running the SQL it
makes costs SQLite about 0.05 ms. Entering a room runs a score of such reads (the room by its
code, the session, sanctions, bans, whether a name is taken) over the form, the room page and the
socket, so on a join storm the ORM's query building was a fifth of the server's time.

A `PreparedRead` builds its QuerySet once per database connection with marker values standing
for its arguments, keeps the SQL Django made, and from then on runs that SQL with each call's
values in the markers' places. Rows are converted by the same converters Django uses, so callers
get what the QuerySet would have returned: model instances, `values_list` tuples or flat values.
Only plain querysets of one model qualify (no `select_related`, no annotations): a read that
needs more stays an ordinary QuerySet.
"""

import datetime
import weakref

from django.db import connections
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesListIterable


def marker(kind, number):
    """A value of `kind` that no real argument takes, distinct per argument."""
    if kind is str:
        return f"\x1fprepared-read-marker-{number}\x1f"
    if kind is int:
        return -(10**15) - number
    if kind is datetime.datetime:
        return datetime.datetime(1901, 1, 1, 0, 0, number, tzinfo=datetime.UTC)
    raise TypeError(f"no marker for arguments of type {kind.__name__}")


def adapt(connection, value):
    """The argument as Django would pass it to the database driver."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


class Plan:
    """One connection's compiled SQL for a read, where the arguments go, and how rows come back."""

    def __init__(self, queryset, connection, markers):
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = []  # (parameter index, argument name)
        for name, value in markers.items():
            adapted = adapt(connection, value)
            found = [index for index, param in enumerate(self.params) if param == adapted]
            if not found:
                raise ValueError(f"argument {name!r} does not reach the query's parameters")
            self.slots.extend((index, name) for index in found)
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        self.compiler = compiler
        self.converters = compiler.get_converters(fields)
        self.shape = queryset._iterable_class
        if self.shape is ModelIterable:
            info = compiler.klass_info
            if info.get("related_klass_infos") or compiler.annotation_col_map:
                raise ValueError("a prepared read returns plain rows of one model")
            self.model = info["model"]
            self.init_list = [column[0].target.attname for column in compiler.select[: compiler.col_count]]
        elif self.shape not in (ValuesListIterable, FlatValuesListIterable):
            raise ValueError("a prepared read returns model instances or values_list rows")


class PreparedRead:
    """`PreparedRead(build, code=str)`: `build(code=...)` returns the QuerySet; the keyword
    arguments name its arguments and their types (str, int or datetime). Calling it with the
    arguments returns the rows as a list."""

    def __init__(self, build, using="default", **kinds):
        self.build = build
        self.using = using
        self.markers = {name: marker(kind, number) for number, (name, kind) in enumerate(kinds.items())}
        self.plans = weakref.WeakKeyDictionary()  # database connection (one per thread): its Plan

    def plan(self, connection):
        plan = self.plans.get(connection)
        if plan is None:
            plan = self.plans[connection] = Plan(self.build(**self.markers), connection, self.markers)
        return plan

    def __call__(self, **values):
        connection = connections[self.using]
        plan = self.plan(connection)
        params = list(plan.params)
        for index, name in plan.slots:
            params[index] = adapt(connection, values[name])
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        if plan.shape is ModelIterable:
            return [plan.model.from_db(self.using, plan.init_list, row) for row in rows]
        if plan.shape is FlatValuesListIterable:
            return [row[0] for row in rows]
        return [tuple(row) for row in rows]
