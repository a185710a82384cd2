"""What a websocket handshake must pass before a consumer, a session load or a presence row is spent
on it: a known path, at most WS_MAX_CONNECTIONS_PER_IP open sockets per address (in this process),
at most WS_CONNECTS_PER_SESSION_PER_MINUTE opens per session and WS_CONNECTS_PER_IP_PER_MINUTE per
address (across processes, through the cache). One client opening and closing sockets in a loop
then costs a frame each, not a join."""

from collections import Counter

from django.conf import settings
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.language import header_language
from rooms.protocol import CLOSE_RATE_LIMITED, CLOSE_TOO_MANY_CONNECTIONS, error_frame
from rooms.realtime.origin import header, same_origin
from rooms.services.admission import client_ip
from rooms.services.budgets import atake


def scope_ip(scope):
    client = scope.get("client")
    return client_ip(client[0] if client else None, header(scope, b"x-forwarded-for"))


def scope_session_key(scope):
    cookies = parse_cookie(header(scope, b"cookie") or "")
    return cookies.get(settings.SESSION_COOKIE_NAME) or None


async def refuse(scope, receive, send, code, detail, close_code, **extra):
    """Answer a handshake the way every refusal is answered: accept, say why (in the language the
    browser asks for: no session is loaded yet), close."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    with translation.override(header_language(scope)):
        text = error_frame(code, detail, **extra)
    await send({"type": "websocket.send", "text": text})
    await send({"type": "websocket.close", "code": close_code})


class SocketGuard:
    """ASGI middleware in front of the websocket router."""

    def __init__(self, application, urlpatterns):
        self.application = application
        self.urlpatterns = urlpatterns
        self.open_per_ip = Counter()

    def known_path(self, path):
        path = path.removeprefix("/")
        return any(pattern.pattern.match(path) for pattern in self.urlpatterns)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        if not self.known_path(scope.get("path", "")):
            # Closing before accepting refuses the handshake (HTTP 403): no route, no traceback.
            await receive()
            return await send({"type": "websocket.close", "code": 1008})
        ip = scope_ip(scope)
        if self.open_per_ip[ip] >= settings.WS_MAX_CONNECTIONS_PER_IP:
            return await refuse(
                scope,
                receive,
                send,
                "too_many_connections",
                _("Too many connections from your address; close some tabs and reload."),
                CLOSE_TOO_MANY_CONNECTIONS,
            )
        try:
            # A page of another origin (the consumer refuses it) must not spend its victim's budget.
            if same_origin(scope):
                await atake(
                    "connect",
                    scope_session_key(scope) or f"ip:{ip}",
                    settings.WS_CONNECTS_PER_SESSION_PER_MINUTE,
                    60,
                    _("You are reconnecting too often; try again in {wait} seconds."),
                )
            # Fresh cookie jars are cheap: the address's opens are counted as well.
            await atake(
                "connect-ip",
                ip,
                settings.WS_CONNECTS_PER_IP_PER_MINUTE,
                60,
                _("Too many connections were opened from your address; try again in {wait} seconds."),
            )
        except ChatError as error:
            return await refuse(scope, receive, send, error.code, error.detail, CLOSE_RATE_LIMITED, **error.extra)
        self.open_per_ip[ip] += 1
        try:
            return await self.application(scope, receive, send)
        finally:
            self.open_per_ip[ip] -= 1
            if not self.open_per_ip[ip]:
                del self.open_per_ip[ip]
