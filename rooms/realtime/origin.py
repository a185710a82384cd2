"""The websocket Origin check, the same as Django's CSRF origin check for forms, explained to the client."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

# The page's scheme for each websocket scheme: a page on http:// opens ws://, one on https:// wss://.
PAGE_SCHEMES = {"ws": "http", "wss": "https"}


def allowed_hosts():
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]  # what Django's request.get_host() allows then
    return hosts


def header(scope, name):
    for header_name, header_value in scope.get("headers", []):
        if header_name == name:
            return header_value.decode("latin1")
    return None


def trusted_origin(origin):
    """Whether `origin` is in CSRF_TRUSTED_ORIGINS, exactly or under a `*.` wildcard (as Django's CSRF check)."""
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted:
            continue
        trusted_parts = urlsplit(trusted)
        pattern = trusted_parts.netloc.replace("*", "", 1)  # "*.example.org" -> ".example.org"
        if trusted_parts.scheme == parts.scheme and is_same_domain(parts.netloc, pattern):
            return True
    return False


def same_origin(scope):
    """Whether the handshake comes from a page of this very origin (scheme, host and port of the
    request's Host header, which must be one of ALLOWED_HOSTS) or from a trusted origin."""
    origin = header(scope, b"origin")
    host = header(scope, b"host")
    if not origin or not host:
        return False
    domain, _ = split_domain_port(host)
    # A Host outside ALLOWED_HOSTS is a rebinding attacker's own name: Django answers 400 to it.
    if not domain or not validate_host(domain, allowed_hosts()):
        return False
    page_scheme = PAGE_SCHEMES.get(scope.get("scheme", "ws"))
    if page_scheme and origin.lower() == f"{page_scheme}://{host}".lower():
        return True
    return trusted_origin(origin)


class ExplainingOriginValidator:
    """Refuses websockets opened by a page of another origin — another host, port or scheme — as
    Django's CSRF check refuses such form posts. The handshake is not dropped silently: the
    consumer accepts, sends an error frame saying why, and closes (4003)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, scope, receive, send):
        # Not a coroutine of its own: it hands back the inner application's, so no frame of this
        # check stays suspended for the socket's life.
        if not same_origin(scope):
            scope = dict(scope, origin_refused=True)
        return self.application(scope, receive, send)
