from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"
    verbose_name = "Chat rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rooms.log_secrets import hide_secrets_in_server_logs
        from rooms.realtime.hub import announce_rooms_removed
        from rooms.signals import rooms_removed

        hide_secrets_in_server_logs()
        rooms_removed.connect(announce_rooms_removed, dispatch_uid="rooms.realtime.announce_rooms_removed")

        from django.db.models.signals import post_delete

        from rooms.models import Attachment
        from rooms.services.images import delete_files_after_commit

        post_delete.connect(delete_files_after_commit, sender=Attachment, dispatch_uid="rooms.attachment_files")
