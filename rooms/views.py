import asyncio
import ipaddress
import logging
import sys

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import messages
from django.db import OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.http import require_http_methods, require_POST

from rooms.api import is_bot_path, server_error_response
from rooms.errors import ChatError
from rooms.forms import HomeForm, NameForm, PassphraseForm
from rooms.limits import page_limits
from rooms.protocol import author_tag, format_timestamp
from rooms.services.admission import (
    admit_with_passphrase,
    check_may_join,
    client_ip,
    find_room_to_join,
    needs_passphrase,
    record_join_miss,
    take_new_join,
)
from rooms.services.budgets import cache_health, guarded, probe_cache
from rooms.services.commands import command_list
from rooms.services.messages import author_key_of, count_newest_messages
from rooms.services.moderation import is_owner, new_owner_key, store_passphrase
from rooms.services.rooms import create_room, rooms_in_order
from rooms.services.sessions import (
    owner_key_in_session,
    recent_room_codes,
    remember_joined,
    remember_owner_key,
)
from rooms.services.watch import find_watched_room, watch_token_in_session
from rooms.validation import normalize_code

logger = logging.getLogger(__name__)


def request_ip(request):
    return client_ip(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))


def login_ip(request):
    """The address django-axes counts admin logins by: a valid IP address or None (it stores it in
    an IP column; a forged X-Forwarded-For entry, or a request without a peer, is not one)."""
    try:
        return str(ipaddress.ip_address(request_ip(request)))
    except ValueError:
        return None


def room_for_request(request, code):
    """The room `code` names, or None, with the socket's admission rules: an unknown code counts
    as a miss against the IP (`find_room_to_join`, `ChatError` "rate_limited" once over the limit)
    and a kicked session, or a newcomer to a locked room, gets `ChatError` (`check_may_join`)."""
    room = find_room_to_join(code, request_ip(request), request.session)
    if room is not None:
        owner_key = owner_key_in_session(request.session, room.code)
        check_may_join(room, request.session.session_key or "", owner_key, request_ip(request), request.session)
    return room


RECENT_ROOMS_SHOWN = 5


@require_http_methods(["GET", "POST"])
def home(request):
    if request.method == "POST":
        # Enter in the code field submits the form without a button; a typed code means join.
        wants_join = "join" in request.POST or ("create" not in request.POST and request.POST.get("code", "").strip())
        action = "join" if wants_join else "create"
        form = HomeForm(request.POST, action=action, client_ip=request_ip(request), session=request.session)
        if form.is_valid():
            if wants_join:
                room = form.room
            else:
                room = create_room(title=form.cleaned_data["title"], key_check=form.cleaned_data["sealed_key_check"])
                # The creating session owns the room.
                remember_owner_key(request.session, room.code, new_owner_key(room))
                if form.cleaned_data.get("passphrase"):
                    store_passphrase(room, form.cleaned_data["passphrase"])
            request.session["name"] = form.cleaned_data["name"]
            return redirect("rooms:room", code=room.code)
    else:
        form = HomeForm(initial={"name": request.session.get("name", ""), "code": request.GET.get("code", "")})
    # Rooms this browser was in, so Back after Leave is not the only way back.
    recent = rooms_in_order(recent_room_codes(request.session, RECENT_ROOMS_SHOWN))
    return render(request, "rooms/home.html", {"form": form, "recent_rooms": recent})


@require_http_methods(["GET", "POST"])
def room(request, code):
    canonical = normalize_code(code)
    try:
        room = room_for_request(request, canonical)
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("rooms:home")
    if room is None:
        messages.error(request, format_lazy(_("There is no room with code {code}."), code=canonical))
        return redirect("rooms:home")
    if canonical != code:
        return redirect("rooms:room", code=canonical)
    behind_passphrase = needs_passphrase(room, request.session, owner_key_in_session(request.session, room.code))
    # Members' names are taken; behind a passphrase they are checked once it is given.
    members_of = None if behind_passphrase else room
    if request.method == "POST":
        form = NameForm(request.POST, members_of=members_of, session_key=request.session.session_key)
        if form.is_valid():
            request.session["name"] = form.cleaned_data["name"]
            return redirect("rooms:room", code=room.code)
        return render(request, "rooms/name_prompt.html", {"room": room, "form": form})
    name = request.session.get("name")
    if not name:
        return render(request, "rooms/name_prompt.html", {"room": room, "form": NameForm()})
    if behind_passphrase:
        return render(request, "rooms/passphrase_prompt.html", {"room": room, "form": PassphraseForm()})
    # The name this session brings may be another member's here: ask for another one.
    form = NameForm({"name": name}, members_of=room, session_key=request.session.session_key)
    if not form.is_valid():
        return render(request, "rooms/name_prompt.html", {"room": room, "form": form})
    try:
        take_new_join(request_ip(request), request.session, room.code)
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("rooms:home")
    if request.session.get("room") != room.code:  # a reload writes no session
        request.session["room"] = room.code
    remember_joined(request.session, room.code)
    config = {"code": room.code, "name": name}
    # This session's author tag: the page marks messages carrying it as its own (not by name).
    config["author"] = author_tag(room.id, author_key_of(request.session.session_key))
    config.update(owner_config(request, room))
    config["expires_at"] = format_timestamp(room.expires_at) if room.expires_at else None
    config["limits"] = limits = page_limits()
    config["commands"] = command_list()
    config["encryption"] = encryption_config(room)
    context = {"room": room, "name": name, "config": config, "limits": limits, **history_shape(room)}
    return render(request, "rooms/room.html", context)


def encryption_config(room):
    """What the page needs to open an encrypted room's messages: the key check to try its key
    on (docs/e2ee.md); null for a plain room."""
    if not room.encrypted:
        return None
    return {"key_check": room.key_check, "key_check_iv": room.key_check_iv}


def history_shape(room):
    """Whether the room has no message yet, and more than the first history page holds: the page
    shows the empty-room hint and "Load earlier" in its first paint, so they never shift it."""
    stored = count_newest_messages(room, settings.HISTORY_LIMIT + 1)
    return {"empty": stored == 0, "has_earlier": stored > settings.HISTORY_LIMIT}


@require_POST
def leave(request, code):
    request.session.pop("room", None)
    return redirect("rooms:home")


BUSY_RETRY_AFTER_SECONDS = 5


def server_error(request):
    """The 500 handler. SQLite has one writer; a request that waited out its busy timeout (5 s
    of retries) gets "database is locked": that is a busy server, not a bug, and the person is told
    so (503, Retry-After) instead of shown an error page."""
    if is_bot_path(request):
        return server_error_response()  # the bots' endpoints answer JSON, even for a server error
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError) and "locked" in str(error):
        response = HttpResponse(render_to_string("rooms/busy.html"), status=503)
        response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)


HEALTH_CHECK_TIMEOUT_SECONDS = 3


def query_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def check_channel_layer():
    """A round trip through the channel layer: send to a fresh channel and read it back."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.check"})
    await layer.receive(channel)
    # Redis layers keep a channel subscribed until a receive on it is cancelled: cancel one, or
    # every health probe would leave a subscription behind.
    leftover = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    leftover.cancel()
    await asyncio.gather(leftover, return_exceptions=True)


def check_cache():
    """The limiter's cache, as this process sees it: 'ok', or 'degraded: …' while limits fail open."""
    guarded(probe_cache)
    return cache_health.status()


async def healthz(request):
    """200 when the database and the channel layer answer; 503 naming the parts that do not. The
    cache only limits abuse: when it fails the answer stays 200, with the cache listed as degraded."""
    checks = {
        "database": lambda: sync_to_async(query_database)(),
        "channel_layer": check_channel_layer,
    }
    results = {}
    for part, check in checks.items():
        try:
            await asyncio.wait_for(check(), HEALTH_CHECK_TIMEOUT_SECONDS)
            results[part] = "ok"
        except TimeoutError:
            results[part] = f"error: no answer within {HEALTH_CHECK_TIMEOUT_SECONDS} s"
        except Exception as error:  # any failure is the answer, not a crash
            # The page is public: name the error here, keep its details (hosts, users) in the log.
            logger.warning("health check of %s failed", part, exc_info=True)
            results[part] = f"error: {type(error).__name__}"
    failed = [part for part, result in results.items() if result != "ok"]
    try:
        results["cache"] = await asyncio.wait_for(
            sync_to_async(check_cache, thread_sensitive=False)(), HEALTH_CHECK_TIMEOUT_SECONDS
        )
    except TimeoutError:
        results["cache"] = f"degraded: no answer within {HEALTH_CHECK_TIMEOUT_SECONDS} s"
    body = {"status": "unavailable" if failed else "ok", **results}
    if failed:
        body["failed"] = failed
    if results["cache"] != "ok":
        body["degraded"] = ["cache"]
    return JsonResponse(body, status=503 if failed else 200)


# --- owner controls -----------------------------------------------------------------


def owner_config(request, room):
    """What the room page needs to show the owner badge, menu, owner link and watch link."""
    key = owner_key_in_session(request.session, room.code)
    if not is_owner(room, key):
        return {"owner": False}
    link = request.build_absolute_uri(reverse("rooms:claim_owner", kwargs={"code": room.code, "key": key}))
    # The watch link itself is shown only to the session that made it (the room keeps its hash).
    token = watch_token_in_session(room, request.session)
    watch_path = reverse("rooms:watch", kwargs={"code": room.code, "token": token}) if token else None
    return {
        "owner": True,
        "owner_link": link,
        "watch_active": bool(room.watch_token_hash),
        "watch_link": request.build_absolute_uri(watch_path) if watch_path else None,
    }


@require_http_methods(["GET"])
def watch(request, code, token):
    """The read-only watch link: history and live messages, no name needed, nothing to send."""
    canonical = normalize_code(code)
    try:
        room = find_watched_room(canonical, token, request_ip(request))
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("rooms:home")
    if room is None:
        messages.error(request, _("That watch link is not valid (any more)."))
        return redirect("rooms:home")
    config = {"code": room.code, "name": None, "watch": token}
    config["expires_at"] = format_timestamp(room.expires_at) if room.expires_at else None
    config["limits"] = limits = page_limits()
    config["encryption"] = encryption_config(room)
    context = {"room": room, "watching": True, "config": config, "limits": limits, **history_shape(room)}
    return render(request, "rooms/room.html", context)


@require_http_methods(["GET"])
def claim_owner(request, code, key):
    """The owner link: opening it in another browser makes that session the room's owner too."""
    canonical = normalize_code(code)
    try:
        room = find_room_to_join(canonical, request_ip(request))
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("rooms:home")
    if room is None or not is_owner(room, key):
        if room is not None:
            record_join_miss(request_ip(request))  # a wrong key is a guess, like a wrong code
        messages.error(request, _("That owner link is not valid (any more)."))
        return redirect("rooms:home")
    remember_owner_key(request.session, room.code, key)
    return redirect("rooms:room", code=room.code)


@require_POST
def passphrase(request, code):
    """The passphrase prompt's answer: right → the room; wrong → the prompt again, with why."""
    try:
        room = room_for_request(request, code)
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("rooms:home")
    if room is None:
        messages.error(request, format_lazy(_("There is no room with code {code}."), code=normalize_code(code)))
        return redirect("rooms:home")
    form = PassphraseForm(request.POST)
    if form.is_valid():
        try:
            admit_with_passphrase(room, request.session, form.cleaned_data["passphrase"], request_ip(request))
            return redirect("rooms:room", code=room.code)
        except ChatError as error:
            form.add_error(None, error.detail)
    return render(request, "rooms/passphrase_prompt.html", {"room": room, "form": form})
