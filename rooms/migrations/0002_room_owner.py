import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rooms", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="room", name="owner_key_hash", field=models.CharField(blank=True, max_length=64)
        ),
        migrations.AddField(model_name="room", name="locked", field=models.BooleanField(default=False)),
        migrations.AddField(
            model_name="room", name="expires_at", field=models.DateTimeField(blank=True, db_index=True, null=True)
        ),
        migrations.AddField(
            model_name="room", name="passphrase_hash", field=models.CharField(blank=True, max_length=128)
        ),
        migrations.CreateModel(
            name="RoomSanction",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_key", models.CharField(max_length=64)),
                ("kind", models.CharField(choices=[("kick", "kicked"), ("mute", "muted")], max_length=8)),
                ("until", models.DateTimeField()),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="sanctions", to="rooms.room"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["room", "session_key"], name="sanction_room_session")],
            },
        ),
    ]
