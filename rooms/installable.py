"""roomchat as an installable app: the web app manifest, the service worker and the page it shows
offline.

The service worker caches the app shell alone: the static files under static/rooms/ and the offline
page, none of which depends on who asks. Everything else (room pages, the websocket, uploads,
transcripts, any API) goes to the network every time, so a stale room with someone's messages is
never shown from a cache. Its cache is named after a digest of what it holds (the static URLs,
hashed in production, and their content), so a deploy that changes any of them installs a new
worker, which deletes the old cache when it activates.
"""

import hashlib
import json
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

STATIC_SHELL_DIRECTORY = "rooms"
# The palette of static/rooms/style.css (light scheme): --bg behind the splash screen, --accent in
# the installed window's title bar.
BACKGROUND_COLOR = "#f6f7f9"
THEME_COLOR = "#1f5fd6"
ICONS = (
    ("rooms/icons/icon-192.png", "192x192", "any"),
    ("rooms/icons/icon-512.png", "512x512", "any"),
    ("rooms/icons/icon-maskable-512.png", "512x512", "maskable"),
)


def revalidated(response):
    """Asked again on every use: the manifest and the worker name the static files of this deploy."""
    patch_cache_control(response, no_cache=True)
    return response


@require_GET
def manifest(request):
    document = {
        "id": "/",
        "name": "roomchat",
        "short_name": "roomchat",
        "description": "Chat rooms without sign-up: create a room or join one with its short code.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
    }
    return revalidated(JsonResponse(document, content_type="application/manifest+json"))


def shell_static_paths():
    """Every file under static/rooms/ (the page's styles, modules and icons), by static path."""
    directory = finders.find(STATIC_SHELL_DIRECTORY)
    if not directory:
        return []
    root = Path(directory)
    return sorted(
        f"{STATIC_SHELL_DIRECTORY}/{path.relative_to(root).as_posix()}"
        for path in root.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    )


def offline_page(request):
    """The offline page's HTML. It reads nothing of the session (not even the messages framework's
    notices): the service worker caches it once and shows it to whoever is offline."""
    return render_to_string("rooms/offline.html", {"messages": ()}, request=request)


def shell_version(static_urls, offline_html):
    """A digest of everything the worker caches. Hashed static URLs change with their files; plain
    ones (before collectstatic, in development) do not, so the files' content counts too."""
    digest = hashlib.sha256()
    for path, url in static_urls.items():
        digest.update(url.encode() + b"\0")
        found = finders.find(path)
        if found:
            digest.update(Path(found).read_bytes())
    digest.update(offline_html.encode())
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request):
    static_urls = {path: static(path) for path in shell_static_paths()}
    offline_url = reverse("rooms:offline")
    shell = {
        "version": shell_version(static_urls, offline_page(request)),
        "offline": offline_url,
        "static_prefix": static(""),
        "files": [offline_url, *static_urls.values()],
    }
    response = render(
        request,
        "rooms/service-worker.js",
        {"shell": json.dumps(shell, indent=2)},
        content_type="text/javascript; charset=utf-8",
    )
    return revalidated(response)


@require_GET
def offline(request):
    return revalidated(HttpResponse(offline_page(request)))
