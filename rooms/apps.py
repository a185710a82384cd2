from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"
    verbose_name = "Chat rooms"
    default_auto_field = "django.db.models.BigAutoField"
