"""The language a person reads roomchat in: the one picked on a page (kept in the session), else
the browser's Accept-Language, else English.

Django's LocaleMiddleware reads a cookie and Accept-Language but not the session, so
`SessionLanguageMiddleware` (after it) activates the session's choice; websocket connections
ask `connection_language` for theirs.
"""

from types import SimpleNamespace

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

LANGUAGE_SESSION_KEY = "language"  # session: the language code picked with the page's language form


def supported_language(code):
    """`code` if roomchat speaks it (one of settings.LANGUAGES), else None."""
    if isinstance(code, str) and code in dict(settings.LANGUAGES):
        return code
    return None


def session_language(session):
    """The language this session picked, or None (a loaded session: this reads no database)."""
    if session is None:
        return None
    return supported_language(session.get(LANGUAGE_SESSION_KEY))


def accepted_language(accept_language):
    """The best of roomchat's languages for an Accept-Language header, as LocaleMiddleware picks it."""
    request = SimpleNamespace(COOKIES={}, META={"HTTP_ACCEPT_LANGUAGE": accept_language or ""}, path_info="/")
    return translation.get_language_from_request(request)


def header_language(scope):
    """A websocket handshake's language from its Accept-Language header (no session needed)."""
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            return accepted_language(value.decode("latin1"))
    return accepted_language("")


class SessionLanguageMiddleware:
    """The language picked on a page (the session's) beats the browser's Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = session_language(getattr(request, "session", None))
        if chosen is not None and chosen != request.LANGUAGE_CODE:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


@require_POST
def choose_language(request):
    """The language form's answer: keep the choice in the session, then go back where it was made."""
    chosen = supported_language(request.POST.get("language"))
    if chosen is not None:
        request.session[LANGUAGE_SESSION_KEY] = chosen
    next_url = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(next_url if safe else reverse("rooms:home"))
