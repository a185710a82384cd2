"""The operators' admin: rooms with their activity, messages, and the purge and export actions.

Declared as data where Django can say it; the numbers come from `rooms_with_stats` (one
query per page) and every change goes through `services`, like the rest of the app.
"""

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.services.operators import idle_condition, purge_rooms, rooms_with_stats
from rooms.services.presence import room_members, watcher_count
from rooms.services.transfer import export_rooms
from rooms.validation import check_title

from .models import BotToken, Message, Room, RoomSanction

LATEST_MESSAGES_SHOWN = 20  # messages inlined on a room's page; the rest are a link away


def streaming_download(request, chunks, filename, content_type):
    """A file download streamed from an iterator of text chunks. Under ASGI the iterator must be
    asynchronous or Django reads it whole into memory first, so it is wrapped there."""
    if isinstance(request, ASGIRequest):
        chunks = _iterate_in_thread(chunks)
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def _iterate_in_thread(chunks):
    done = object()
    # thread_sensitive: the database cursor behind the iterator stays on one thread.
    next_chunk = sync_to_async(next, thread_sensitive=True)
    while (chunk := await next_chunk(chunks, done)) is not done:
        yield chunk


# --- rooms ------------------------------------------------------------------------------------


class ActivityFilter(admin.SimpleListFilter):
    title = "activity"
    parameter_name = "activity"

    def lookups(self, request, model_admin):
        idle_days = sorted({7, settings.ROOM_IDLE_DAYS})
        return [("today", "Active today"), *((f"idle-{days}", f"Idle over {days} days") for days in idle_days)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "today":
            midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
            return queryset.filter(last_activity__gte=midnight)
        if value in dict(self.lookup_choices) and value.startswith("idle-"):
            return queryset.filter(idle_condition(int(value.removeprefix("idle-"))))
        return queryset


class MessagesFilter(admin.SimpleListFilter):
    title = "messages"
    parameter_name = "messages"

    def lookups(self, request, model_admin):
        return [("none", "Empty (no messages)"), ("some", "With messages")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(message_count=0)
        if self.value() == "some":
            return queryset.filter(message_count__gt=0)
        return queryset


class OnlineFilter(admin.SimpleListFilter):
    title = "members online"
    parameter_name = "online"

    def lookups(self, request, model_admin):
        return [("yes", "Someone online"), ("no", "Nobody online")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(members_online__gt=0)
        if self.value() == "no":
            return queryset.filter(members_online=0)
        return queryset


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["title"]

    def clean_title(self):
        try:
            return check_title(self.cleaned_data.get("title"))
        except ChatError as error:
            raise forms.ValidationError(error.detail) from None


class SanctionColumns:
    """What the sanctions inline and list show of a sanction besides its fields."""

    @admin.display(description="session")
    def session(self, sanction):
        # Enough to tell sessions apart; the whole key would let whoever reads the page use the session.
        return f"{sanction.session_key[:6]}…"

    @admin.display(boolean=True, description="in force")
    def in_force(self, sanction):
        return sanction.until > timezone.now()


class SanctionsInline(SanctionColumns, admin.TabularInline):
    """The owner's kicks and mutes in this room; deleting one lifts it (a muted member's open
    socket learns of it when it reconnects)."""

    model = RoomSanction
    verbose_name_plural = "Kicks and mutes by the owner"
    fields = ["kind", "session", "until", "in_force"]
    readonly_fields = fields
    extra = 0
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False  # sanctions are the owner's decisions, taken in the room

    def has_change_permission(self, request, obj=None):
        return False


class BotTokensInline(admin.TabularInline):
    """The room's bot tokens, read-only: made and revoked by the owner in the room; the hash is never shown."""

    model = BotToken
    verbose_name_plural = "Bot tokens (made and revoked by the owner)"
    fields = ["name", "created_at", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LatestMessagesInline(admin.TabularInline):
    """The newest messages of the room, read-only; the full history is the filtered Message list."""

    model = Message
    verbose_name_plural = f"Latest {LATEST_MESSAGES_SHOWN} messages, newest first"
    fields = ["created_at", "name", "shown_body", "client_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("body"))
    def shown_body(self, message):
        return shown_body(message)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    form = RoomForm
    list_display = ["code", "title", "encrypted", "created_at", "last_activity", "message_count", "members_online"]
    list_filter = [ActivityFilter, MessagesFilter, OnlineFilter, "encrypted"]
    search_fields = ["code", "title"]
    fields = [
        "code",
        "title",
        "encrypted",
        "created_at",
        "last_activity",
        "message_count",
        "members",
        "owner_controls",
        "all_messages",
    ]
    readonly_fields = [
        "code",
        "encrypted",
        "created_at",
        "last_activity",
        "message_count",
        "members",
        "owner_controls",
        "all_messages",
    ]
    inlines = [SanctionsInline, BotTokensInline, LatestMessagesInline]
    actions = ["purge_selected", "export_selected"]

    def get_queryset(self, request):
        return rooms_with_stats(super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # rooms get their codes from create_room: the site or `create_room`

    @admin.display(ordering="last_activity")
    def last_activity(self, room):
        return room.last_activity

    @admin.display(ordering="message_count", description="messages")
    def message_count(self, room):
        return room.message_count

    @admin.display(ordering="members_online")
    def members_online(self, room):
        return room.members_online

    @admin.display(description="members online")
    def members(self, room):
        names = room_members(room)
        return f"{len(names)}: {', '.join(names)}" if names else "nobody"

    @admin.display(description="owner's settings")
    def owner_controls(self, room):
        settings_in_force = [
            "locked" if room.locked else "open to new members",
            "passphrase" if room.passphrase_hash else "no passphrase",
            f"deleted at {room.expires_at:%Y-%m-%d %H:%M} UTC" if room.expires_at else "no expiry",
        ]
        if room.watch_token_hash:
            settings_in_force.append(f"watch link live ({watcher_count(room)} watching)")
        else:
            settings_in_force.append("no watch link")
        return "; ".join(settings_in_force)

    @admin.display(description="history")
    def all_messages(self, room):
        url = reverse("admin:rooms_message_changelist") + f"?{MessageRoomFilter.parameter_name}={room.pk}"
        return format_html('<a href="{}">All {} messages of this room →</a>', url, room.message_count)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LatestMessagesInline) and obj is not None and obj.pk is not None:
            latest = Message.objects.filter(room=obj).order_by("-id").values_list("id", flat=True)
            kwargs["queryset"] = kwargs["queryset"].filter(id__in=list(latest[:LATEST_MESSAGES_SHOWN])).order_by("-id")
        return kwargs

    # Deleting goes through purge_rooms: batched, and it closes the rooms' websockets.
    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        purge_rooms([obj])

    def delete_queryset(self, request, queryset):
        purge_rooms(queryset)

    def get_deleted_objects(self, objs, request):
        # Django would list every message; a count says the same for a room of a million.
        rooms = list(rooms_with_stats(Room.objects.filter(pk__in=[room.pk for room in objs])))
        summary = [f"Room {room}: {room.message_count} messages, {room.members_online} online" for room in rooms]
        counts = {"rooms": len(rooms), "messages": sum(room.message_count for room in rooms)}
        perms_needed = set() if self.has_delete_permission(request) else {"rooms"}
        return summary, counts, perms_needed, []

    @admin.action(description="Purge selected rooms (and their messages)", permissions=["delete"])
    def purge_selected(self, request, queryset):
        if request.POST.get("post") == "yes":
            self.log_deletions(request, queryset)
            result = purge_rooms(queryset)
            self.message_user(
                request, f"Purged {result.rooms} room(s) and {result.messages} message(s).", messages.SUCCESS
            )
            return None
        rooms = list(queryset.order_by("code"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Purge rooms?",
            "opts": self.model._meta,
            "rooms": rooms,
            "message_total": sum(room.message_count for room in rooms),
            "online_total": sum(room.members_online for room in rooms),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/rooms/room/purge_selected_confirmation.html", context)

    @admin.action(description="Export selected rooms as JSON")
    def export_selected(self, request, queryset):
        rooms = list(queryset.order_by("code"))
        filename = f"roomchat-{timezone.now():%Y%m%d-%H%M%S}.json"
        return streaming_download(request, export_rooms(rooms, "json"), filename, "application/json; charset=utf-8")


# --- messages ---------------------------------------------------------------------------------


class MessageRoomFilter(admin.SimpleListFilter):
    """By room: the most recently active rooms to pick from (not every room, there may be many),
    plus the chosen one; a room's page links here with its id."""

    title = "room"
    parameter_name = "room"
    choices_shown = 15

    def lookups(self, request, model_admin):
        recent = list(rooms_with_stats().order_by("-last_activity")[: self.choices_shown])
        chosen = self.room_id()
        if chosen is not None and all(room.pk != chosen for room in recent):
            recent += list(Room.objects.filter(pk=chosen))
        return [(str(room.pk), str(room)) for room in recent]

    def room_id(self):
        try:
            return int(self.value())
        except (TypeError, ValueError):
            return None

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        room_id = self.room_id()
        return queryset.filter(room_id=room_id) if room_id is not None else queryset.none()


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "room", "name", "body_preview"]
    list_filter = [MessageRoomFilter, "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["body", "name"]
    list_select_related = ["room"]
    fields = ["room", "name", "shown_body", "created_at", "client_id", "reply_to", "action", "pinned"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request):
        return False  # messages are posted in rooms, not written by operators

    def has_change_permission(self, request, obj=None):
        return False  # read-only: history is what was said; deleting one is allowed

    @admin.display(description="body")
    def body_preview(self, message):
        return _("encrypted") if message.ciphertext else Truncator(message.body).chars(80)

    @admin.display(description=_("body"))
    def shown_body(self, message):
        return shown_body(message)


def shown_body(message):
    """A body as operators see it: an encrypted room's are ciphertexts the server cannot read."""
    return _("encrypted") if message.ciphertext else message.body


# --- owner's sanctions ------------------------------------------------------------------------


@admin.register(RoomSanction)
class RoomSanctionAdmin(SanctionColumns, admin.ModelAdmin):
    """Every kick and mute, to see who is kept out of which room; deleting one lifts it."""

    list_display = ["room", "kind", "session", "until", "in_force"]
    list_filter = ["kind", "until"]
    search_fields = ["room__code"]
    list_select_related = ["room"]
    fields = ["room", "kind", "session", "until"]
    readonly_fields = fields
    ordering = ["-until"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
