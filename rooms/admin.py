from django.contrib import admin

from . import services
from .models import Message, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "created_at", "last_activity", "message_count"]
    search_fields = ["code", "title"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return services.rooms_with_stats()

    @admin.display(ordering="last_activity")
    def last_activity(self, room):
        return room.last_activity

    @admin.display(ordering="message_count")
    def message_count(self, room):
        return room.message_count


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "name", "body", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["body", "name"]
    list_select_related = ["room"]
    readonly_fields = ["room", "name", "body", "created_at", "client_id"]
