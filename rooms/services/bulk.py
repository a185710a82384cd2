"""A multi-row INSERT for the message writer's hot path, without the ORM's per-call SQL building.

`QuerySet.bulk_create` compiles its statement anew on every call and prepares each value through
several layers; for the group commit's small batches (a few to a few hundred rows, a thousand
a second) that was most of the cost of storing a message. This builds the same statement from the
model's fields directly: the values are each field's `get_db_prep_save` of its `pre_save`, as
the ORM does, and the new primary keys come back with RETURNING (SQLite ≥ 3.35, PostgreSQL), in
row order as `bulk_create` assumes too.
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
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch_size = max(connection.ops.bulk_batch_size(fields, objects), 1)
    with connection.cursor() as cursor:
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
            for obj, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias
