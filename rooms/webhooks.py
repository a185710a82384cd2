"""Slack-compatible incoming webhooks: `POST /hooks/<TOKEN>` with Slack's payload, as JSON
(`{"text": …, "username": …}`) or form-encoded (`payload=<json>`), so whatever posts to a Slack
webhook (CI, Grafana, Alertmanager relays, scripts) posts to a room unchanged. Success is Slack's
answer, `ok` as text/plain; errors are JSON, as the API's."""

from urllib.parse import parse_qs

from django.http import HttpResponse
from django.utils.translation import gettext as _

from rooms.api import endpoint, parse_json_object, post_bot_message, read_body
from rooms.errors import ChatError
from rooms.services.bots import authenticate


def slack_payload(request, body):
    """The payload object of a Slack webhook request, JSON or form-encoded."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise ChatError("invalid_request", _("The form could not be read.")) from None
        if "payload" not in fields:
            raise ChatError("invalid_request", _("A form-encoded webhook sends its JSON in the `payload` field."))
        return parse_json_object(fields["payload"][0].encode())
    return parse_json_object(body)


def slack_text(payload):
    """The message text: `text`, or else what Slack shows for the payload's legacy attachments
    (Grafana and Alertmanager send these): each one's `fallback`, or its title and text."""
    text = payload.get("text")
    if isinstance(text, str) and text.strip():
        return text
    parts = []
    attachments = payload.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, dict):
            continue
        fallback = attachment.get("fallback")
        if isinstance(fallback, str) and fallback.strip():
            parts.append(fallback.strip())
            continue
        pieces = [attachment.get(key) for key in ("pretext", "title", "text")]
        parts.append("\n".join(piece.strip() for piece in pieces if isinstance(piece, str) and piece.strip()))
    joined = "\n\n".join(part for part in parts if part)
    if not joined:
        raise ChatError("empty_message", _("The payload has no text."))
    return joined


@endpoint("POST")
def incoming(request, token):
    _room, bot = authenticate(token, None)
    payload = slack_payload(request, read_body(request))
    username = payload.get("username")
    post_bot_message(bot, slack_text(payload), username=username if isinstance(username, str) else None)
    return HttpResponse(b"ok", content_type="text/plain; charset=utf-8")  # Slack's answer, not a text for people
