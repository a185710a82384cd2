"""A multi-row INSERT for the message writer's hot path, without the ORM's per-call SQL building.

`QuerySet.bulk_create` compiles its statement anew on every call and prepares each value through
several layers; for the group commit's small batches (a few to a few hundred rows, a thousand
a second) that was most of the cost of storing a message. This builds the same statement from the
model's fields directly: the values are each field's `get_db_prep_save` of its `pre_save`, as
the ORM does, and the new primary keys come back with RETURNING (SQLite ≥ 3.35, PostgreSQL), in
row order as `bulk_create` assumes too.

On PostgreSQL the rows go as one array per column through UNNEST, as `bulk_create` does there
since Django 5.2: the statement's text is then the same whatever the number of rows, so psycopg
converts it once (a VALUES list of a new length each time was parsed anew, per batch).
"""

from django.db import DEFAULT_DB_ALIAS, connections


def insert_rows(objects):
    """INSERT unsaved instances of one model (with an auto primary key) and set their ids."""
    if not objects:
        return
    connection = connections[DEFAULT_DB_ALIAS]  # once: the `connection` proxy is a lookup per use
    model = type(objects[0])
    meta = model._meta
    fields = [field for field in meta.local_concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        # One row goes as VALUES, whose text is the same each time too (and dumps no arrays).
        if connection.vendor == "postgresql" and len(objects) > 1:
            # Without a type's length (varchar, not varchar(32)): as Django does, nothing is cut.
            arrays = ", ".join(f"(%s)::{field.db_type(connection).split('(')[0]}[]" for field in fields)
            params = [
                [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objects] for field in fields
            ]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT * FROM UNNEST({arrays}) "
                f"RETURNING {quote(meta.pk.column)}",
                params,
            )
            set_keys(objects, cursor.fetchall(), connection)
            return
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        batch_size = max(connection.ops.bulk_batch_size(fields, objects), 1)
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            params = [
                field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in batch for field in fields
            ]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * len(batch))} "
                f"RETURNING {quote(meta.pk.column)}",
                params,
            )
            set_keys(batch, cursor.fetchall(), connection)


def set_keys(objects, rows, connection):
    for obj, (pk,) in zip(objects, rows, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
