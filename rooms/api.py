"""The bots' HTTP API (docs/protocol.md, "Bots and webhooks"): post to a room and read its messages
with `Authorization: Bearer TOKEN`. Token-authenticated, so CSRF-exempt; every answer is JSON, errors
included (`{"error": CODE, "detail": TEXT}`), never a page.

A message posted here takes the websocket's path: checked by the domain, then stored and published
by this process's hub (`post_from_http`), so members see it live, in every server process.
"""

import functools
import json

from asgiref.sync import async_to_sync
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from rooms.errors import ChatError
from rooms.limits import BOT_REQUEST_MAX_BYTES
from rooms.openapi import openapi_document
from rooms.protocol import message_to_dict
from rooms.realtime.hub import post_from_http
from rooms.services.bots import (
    authenticate,
    bot_messages_after,
    check_after_seq,
    check_bot_message,
    check_page_limit,
    note_bot_used,
)

# The HTTP status of each error code; any other ChatError is the client's bad input (400).
ERROR_STATUS = {
    "unauthorized": 401,
    "forbidden": 403,
    "encrypted_room": 403,
    "room_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "room_removed": 404,
    "unavailable": 503,
}


def error_response(code, detail, **extra):
    response = JsonResponse({"error": code, "detail": detail}, status=ERROR_STATUS.get(code, 400))
    if code == "rate_limited" and "retry_after" in extra:
        response["Retry-After"] = str(extra["retry_after"])
    if code == "unauthorized":
        response["WWW-Authenticate"] = 'Bearer realm="roomchat"'
    return response


def endpoint(*methods):
    """A bot endpoint: CSRF-exempt, these methods only (405 otherwise), ChatError and database
    failures answered as JSON errors."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def handle(request, *args, **kwargs):
            if request.method not in methods:
                response = error_response("method_not_allowed", _("Use %(methods)s.") % {"methods": ", ".join(methods)})
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, **kwargs)
            except ChatError as error:
                return error_response(error.code, error.detail, **error.extra)
            except DatabaseError:
                return error_response("unavailable", _("The server cannot reach its database right now; retry."))

        return handle

    return decorate


def read_body(request):
    """The request body, read here with a cap (not by Django, whose RequestDataTooBig is a page):
    ChatError("request_too_large") past BOT_REQUEST_MAX_BYTES."""
    too_large = ChatError(
        "request_too_large", _("Request bodies can be at most %(bytes)d bytes.") % {"bytes": BOT_REQUEST_MAX_BYTES}
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > BOT_REQUEST_MAX_BYTES:
        raise too_large
    body = request.read(BOT_REQUEST_MAX_BYTES + 1)
    if len(body) > BOT_REQUEST_MAX_BYTES:
        raise too_large
    return body


def parse_json_object(body):
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ChatError("invalid_json", _("The body must be a JSON object.")) from None
    if not isinstance(data, dict):
        raise ChatError("invalid_json", _("The body must be a JSON object."))
    return data


def bearer_token(request):
    scheme, _space, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def post_bot_message(bot, body, client_id=None, username=None):
    """Store and publish a bot's message as a member's would be; returns (message, created)."""
    entry = check_bot_message(bot, body, client_id, username)
    message, created, _event = async_to_sync(post_from_http)(bot.room.code, entry)
    note_bot_used(bot)
    return message, created


@endpoint("GET", "POST")
def room_messages(request, code):
    """POST: a bot's message (201 stored; 200 a resend of a stored client_id). GET: the messages
    stored after a log position, oldest first."""
    room, bot = authenticate(bearer_token(request), code)
    if request.method == "GET":
        return list_messages(request, room, bot)
    data = parse_json_object(read_body(request))
    unexpected = set(data) - {"body", "client_id"}
    if unexpected:
        names = ", ".join(sorted(unexpected))[:100]
        raise ChatError("invalid_request", _("Unexpected field(s): %(names)s.") % {"names": names})
    message, created = post_bot_message(bot, data.get("body"), data.get("client_id"))
    return JsonResponse(message_to_dict(message), status=201 if created else 200)


def list_messages(request, room, bot):
    after_seq = check_after_seq(request.GET.get("after_seq"))
    limit = check_page_limit(request.GET.get("limit"))
    messages, next_after_seq, has_more = bot_messages_after(room, after_seq, limit)
    note_bot_used(bot)
    return JsonResponse(
        {
            "messages": [message_to_dict(message) for message in messages],
            "next_after_seq": next_after_seq,
            "has_more": has_more,
        }
    )


@endpoint("GET")
def openapi(request):
    return JsonResponse(openapi_document())


@csrf_exempt
def not_found(request, *args, **kwargs):
    return error_response("not_found", _("There is no such API endpoint."))


def server_error_response():
    """What a request under /api/ or /hooks/ gets for a server error: JSON, as every other answer."""
    return JsonResponse({"error": "server_error", "detail": _("The server failed; please retry.")}, status=500)


def is_bot_path(request):
    return request.path.startswith(BOT_PATHS)


# Django's own error answers (a bad Host, a path that matches nothing) are JSON under these paths.
BOT_PATHS = ("/api/", "/hooks/")


def bad_request(request, exception):
    if is_bot_path(request):
        return error_response("bad_request", _("The request could not be read."))
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if is_bot_path(request):
        return error_response("not_found", _("There is no such API endpoint."))
    return defaults.page_not_found(request, exception)
