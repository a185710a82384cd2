"""The websocket Origin check (same allow-list as ALLOWED_HOSTS), explained to the client."""

from channels.security.websocket import OriginValidator
from django.conf import settings


class ExplainingOriginValidator(OriginValidator):
    """Channels' AllowedHostsOriginValidator, except that a foreign Origin is not dropped silently
    at the handshake: the consumer accepts, sends an error frame saying why, and closes (4003)."""

    def __init__(self, application):
        allowed_hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed_hosts:
            allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed_hosts)

    async def __call__(self, scope, receive, send):
        origin = None
        for header_name, header_value in scope.get("headers", []):
            if header_name == b"origin":
                origin = header_value.decode("latin1")
        if not self.valid_origin(self.parse(origin)):
            scope = dict(scope, origin_refused=True)
        return await self.application(scope, receive, send)

    @staticmethod
    def parse(origin):
        from urllib.parse import urlparse

        if origin is None:
            return None
        try:
            return urlparse(origin)
        except ValueError:
            return None
