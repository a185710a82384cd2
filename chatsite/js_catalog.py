"""The page's words in its language for the room page's JavaScript (the `djangojs` catalogs under
LOCALE_PATHS), served by Django's JavaScriptCatalog at an address of each language and version:
a browser caches it for good, and a new catalog is a new address."""

import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.views.i18n import JavaScriptCatalog

DOMAIN = "djangojs"
CACHED_FOR_GOOD = "public, max-age=31536000, immutable"


@functools.cache
def catalog_version(language):
    """A digest of the language's compiled catalogs: it changes whenever they do."""
    digest = hashlib.sha256(language.encode())
    for directory in settings.LOCALE_PATHS:
        compiled = Path(directory) / translation.to_locale(language) / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if compiled.exists():
            digest.update(compiled.read_bytes())
    return digest.hexdigest()[:16]


def catalog_url(language):
    """Where the page of `language` loads its catalog from."""
    language = translation.get_supported_language_variant(language)
    path = reverse("js-catalog", kwargs={"language": language})
    return f"{path}?v={catalog_version(language)}"


class LanguageCatalog(JavaScriptCatalog):
    """The catalog of the language named in the path (one of LANGUAGES), whatever the request's own.
    Only the project's catalogs: "rooms" has none of its own, so LOCALE_PATHS is all that is read
    (without a package Django would add every installed app's, the admin's among them)."""

    domain = DOMAIN
    packages = ["rooms"]

    def get(self, request, language):
        if language not in dict(settings.LANGUAGES):
            raise Http404("No such language.")
        with translation.override(language):
            response = super().get(request)
        current = request.GET.get("v") == catalog_version(language)
        response["Cache-Control"] = CACHED_FOR_GOOD if current else "no-cache"
        return response
