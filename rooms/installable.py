"""roomchat as an installable app: the web app manifest, the service worker and the page it shows
offline.

The service worker caches the app shell alone: the static files under static/rooms/ and the offline
page, none of which depends on who asks. Everything else (room pages, the websocket, uploads,
transcripts, any API) goes to the network every time, so a stale room with someone's messages is
never shown from a cache. Its cache is named after a digest of what it holds (the static URLs,
hashed in production, and their content), so a deploy that changes any of them installs a new
worker, which deletes the old cache when it activates.
"""

import functools
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
from django.utils.translation import gettext
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
        "description": gettext(
            "Chat rooms without sign-up: pick a name, create a room or join one with its short code, "
            "and talk live with everyone in it."
        ),
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


def shell_static_files():
    """{static path: file} for every file under static/rooms/ (the page's styles, modules, icons)."""
    directory = finders.find(STATIC_SHELL_DIRECTORY)
    if not directory:
        return {}
    root = Path(directory)
    files = (path for path in root.rglob("*") if path.is_file() and not path.name.startswith("."))
    return {f"{STATIC_SHELL_DIRECTORY}/{path.relative_to(root).as_posix()}": path for path in sorted(files)}


def offline_page(request):
    """The offline page's HTML. It reads nothing of the session (not even the messages framework's
    notices): the service worker caches it once and shows it to whoever is offline."""
    return render_to_string("rooms/offline.html", {"messages": ()}, request=request)


@functools.lru_cache(maxsize=8)
def files_digest(urls_and_stats):
    """A digest of the static files: their URLs and content. Hashed URLs change with their files;
    plain ones (before collectstatic, in development) do not, so the content counts too. Cached by
    the files' sizes and modification times: browsers ask for the worker on every page load."""
    digest = hashlib.sha256()
    for url, path, _ in urls_and_stats:
        digest.update(url.encode() + b"\0" + Path(path).read_bytes())
    return digest.hexdigest()


def shell_version(static_urls, files, offline_html):
    """A digest of everything the worker caches, to name its cache."""
    urls_and_stats = []
    for path, url in static_urls.items():
        stat = files[path].stat()
        urls_and_stats.append((url, str(files[path]), (stat.st_mtime_ns, stat.st_size)))
    digest = hashlib.sha256(files_digest(tuple(urls_and_stats)).encode())
    digest.update(offline_html.encode())
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request):
    files = shell_static_files()
    static_urls = {path: static(path) for path in files}
    offline_url = reverse("rooms:offline")
    shell = {
        "version": shell_version(static_urls, files, offline_page(request)),
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
