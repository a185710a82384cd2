from django.db import migrations, models

# PostgreSQL only: the full-text index search_messages (rooms/services/search.py) reads. The
# expression is the one SearchVector("body", config="simple") compiles to, so the planner uses it.
BODY_SEARCH_INDEX = "message_body_search"


def create_body_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    message = apps.get_model("rooms", "Message")
    schema_editor.add_index(message, GinIndex(SearchVector("body", config="simple"), name=BODY_SEARCH_INDEX))


def drop_body_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {BODY_SEARCH_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("rooms", "0011_message_reply_to"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="action",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="message",
            name="pinned",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(create_body_search_index, drop_body_search_index),
    ]
