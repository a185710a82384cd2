from django.db import migrations, models


class Migration(migrations.Migration):
    """Separate from 0005: PostgreSQL refuses to alter a table with row updates pending in the
    same transaction."""

    dependencies = [
        ("rooms", "0005_room_event_log"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("room", "seq"), name="message_unique_seq_per_room"),
        ),
        migrations.AddConstraint(
            model_name="messagechange",
            constraint=models.UniqueConstraint(fields=("room", "seq"), name="change_unique_seq_per_room"),
        ),
    ]
