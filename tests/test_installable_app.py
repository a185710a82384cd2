"""roomchat as an installable app: the manifest and its icons, the service worker's list of what it
caches (the app shell, never a room or an API), and the offline page it shows."""

import json
import re
import shutil
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image, ImageChops

from tests.live_server import PROJECT_ROOT

pytestmark = pytest.mark.django_db

ICONS = PROJECT_ROOT / "static" / "rooms" / "icons"
PRODUCTION_STORAGE = {"BACKEND": "chatsite.static_storage.ManifestStaticFilesStorage"}
# Paths whose answers depend on who asks, or change all the time.
NEVER_CACHED = ("/rooms/", "/api/", "/hooks/", "/uploads/", "/admin/", "/healthz", "/ws/")


def fetched(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def manifest_of(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    return response, json.loads(response.content)


def shell_of(client):
    """The service worker's script and the list of what it caches (its SHELL constant)."""
    response = client.get("/service-worker.js")
    assert response.status_code == 200
    script = response.content.decode()
    shell = json.loads(re.search(r"^const SHELL = (\{.*?^\});$", script, re.S | re.M).group(1))
    return response, script, shell


@pytest.mark.parametrize("path", ["/", "/offline/"])
def test_pages_link_the_manifest_the_touch_icon_and_the_registering_module(path):
    page = Client().get(path).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<link rel="apple-touch-icon" href="/static/rooms/icons/apple-touch-icon.png">' in page
    assert '<script type="module" src="/static/rooms/install.js"></script>' in page


def test_the_room_page_links_the_manifest_too():
    browser = Client()
    room_url = browser.post("/", {"name": "Ann", "create": ""})["Location"]
    page = browser.get(room_url).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_the_manifest_describes_a_standalone_app_with_the_sites_colours():
    response, manifest = manifest_of(Client())
    assert response["Content-Type"] == "application/manifest+json"
    assert "no-cache" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert manifest["name"] == "roomchat"
    assert manifest["short_name"] == "roomchat"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    style = (PROJECT_ROOT / "static" / "rooms" / "style.css").read_text()
    light_palette = style.split("@media")[0]
    assert f"--bg: {manifest['background_color']};" in light_palette
    assert f"--accent: {manifest['theme_color']};" in light_palette


def test_the_manifests_icons_exist_as_pngs_of_their_declared_sizes():
    client = Client()
    _, manifest = manifest_of(client)
    declared = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= declared
    for icon in manifest["icons"]:
        response, body = fetched(client, icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response["Content-Type"] == icon["type"] == "image/png"
        path = PROJECT_ROOT / "static" / icon["src"].removeprefix("/static/")
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
        assert body == path.read_bytes()


def test_the_maskable_and_apple_touch_icons_are_opaque_squares():
    for name, size in (("icon-maskable-512.png", 512), ("apple-touch-icon.png", 180)):
        with Image.open(ICONS / name) as image:
            assert image.size == (size, size)
            assert image.mode == "RGB", name  # no transparency for the platform to fill in black
            corner = image.getpixel((0, 0))
            assert corner == image.getpixel((size - 1, size - 1)) != (255, 255, 255)


def test_the_committed_icons_are_what_the_script_draws(tmp_path):
    subprocess.run([sys.executable, "scripts/make_icons.py", str(tmp_path)], cwd=PROJECT_ROOT, check=True, timeout=60)
    for drawn in sorted(tmp_path.glob("*.png")):
        with Image.open(drawn) as fresh, Image.open(ICONS / drawn.name) as committed:
            assert fresh.size == committed.size and fresh.mode == committed.mode, drawn.name
            assert ImageChops.difference(fresh, committed).getbbox() is None, drawn.name
    assert {path.name for path in tmp_path.glob("*.png")} == {path.name for path in ICONS.glob("*.png")}


def test_the_service_worker_is_fresh_javascript_with_the_sites_policy():
    response, script, _ = shell_of(Client())
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "{{" not in script and "{%" not in script


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_rendered_service_worker_parses_as_javascript(tmp_path):
    _, script, _ = shell_of(Client())
    path = tmp_path / "service-worker.js"
    path.write_text(script)
    result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_service_worker_caches_the_static_files_and_the_offline_page_and_nothing_else():
    client = Client()
    _, _, shell = shell_of(client)
    files = shell["files"]
    assert shell["offline"] == "/offline/" and "/offline/" in files
    assert {"/static/rooms/style.css", "/static/rooms/room.js", "/static/rooms/install.js"} <= set(files)
    assert "/static/rooms/room/messages.js" in files
    assert "/static/rooms/icons/icon-192.png" in files
    for url in files:
        assert url == "/offline/" or url.startswith(shell["static_prefix"]), url
        assert not url.startswith(NEVER_CACHED), url
        response, body = fetched(client, url)
        assert response.status_code == 200 and body, url


def test_a_changed_static_file_changes_the_cache_version(settings, tmp_path):
    static_dir = tmp_path / "static"
    shutil.copytree(PROJECT_ROOT / "static", static_dir)
    settings.STATICFILES_DIRS = [static_dir]
    _, _, before = shell_of(Client())
    with open(static_dir / "rooms" / "style.css", "a") as stylesheet:
        stylesheet.write("\n/* changed */\n")
    _, _, after = shell_of(Client())
    assert before["files"] == after["files"]
    assert re.fullmatch(r"[0-9a-f]{16}", before["version"]) and before["version"] != after["version"]


def test_after_collectstatic_the_service_worker_lists_the_hashed_files(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STORAGE}
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    _, _, plain = shell_of(Client())
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # WhiteNoise finds the collected files when it starts, as a server does
    _, _, hashed = shell_of(client)
    assert hashed["version"] != plain["version"]
    static_files = [url for url in hashed["files"] if url != "/offline/"]
    assert len(static_files) == len(plain["files"]) - 1
    for url in static_files:
        assert re.fullmatch(r"/static/rooms/[\w/-]+\.[0-9a-f]{12}\.\w+", url), url
        response, _ = fetched(client, url)
        assert response.status_code == 200, url
    _, manifest = manifest_of(client)
    assert all(icon["src"] in static_files for icon in manifest["icons"])


def test_the_offline_page_says_what_happened_and_offers_to_try_again():
    response = Client().get("/offline/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    assert '<h1 id="offline-heading">You are offline</h1>' in page
    assert "messages are stored on the server" in page
    assert '<a class="button primary" href="">Try again</a>' in page


def test_the_offline_page_holds_nothing_of_the_visitors_session(session_for):
    client = Client()
    client.cookies["sessionid"] = session_for("Ann")
    response = client.get("/offline/")
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "Ann" not in response.content.decode()


def test_the_service_worker_is_the_same_for_everyone_until_a_deploy(session_for):
    """Browsers compare the worker byte for byte on page loads: any difference between two requests
    (a token, a name) would install it anew each time and drop its cache."""
    anonymous = Client().get("/service-worker.js").content
    ann = Client()
    ann.cookies["sessionid"] = session_for("Ann")
    assert ann.get("/service-worker.js").content == anonymous == Client().get("/service-worker.js").content


def test_the_offline_page_speaks_the_browsers_language():
    page = Client().get("/offline/", headers={"accept-language": "de"}).content.decode()
    assert "Du bist offline" in page and "Erneut versuchen" in page
