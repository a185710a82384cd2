"""Static files in production: hashed, compressed and cacheable after collectstatic, and still
working (plain names) on a server started before anyone ran it."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PRODUCTION_STORAGE = {"BACKEND": "chatsite.static_storage.ManifestStaticFilesStorage"}


@pytest.fixture
def production_static(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STORAGE}
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    return settings.STATIC_ROOT


def stylesheet_url(page):
    return re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)


def test_collected_static_files_are_hashed_compressed_and_cached_for_good(production_static):
    call_command("collectstatic", interactive=False, verbosity=0)
    browser = Client()
    url = stylesheet_url(browser.get("/").content.decode())
    assert re.fullmatch(r"/static/rooms/style\.[0-9a-f]{12}\.css", url)
    response = browser.get(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]


def test_a_server_started_before_collectstatic_still_serves_pages_and_styles(production_static):
    browser = Client()
    page = browser.get("/")
    assert page.status_code == 200
    url = stylesheet_url(page.content.decode())
    assert url == "/static/rooms/style.css"
    response = browser.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).strip()


def test_the_room_page_preloads_its_hashed_modules_and_they_import_each_other_hashed(production_static):
    call_command("collectstatic", interactive=False, verbosity=0)
    browser = Client()
    room_url = browser.post("/", {"name": "Ann", "create": ""})["Location"]
    page = browser.get(room_url).content.decode()
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', page)
    assert "/static/rooms/room/messages." in " ".join(preloads)
    for url in preloads:
        assert re.fullmatch(r"/static/rooms/(room/)?\w+\.[0-9a-f]{12}\.js", url), url
        assert browser.get(url).status_code == 200
    entry = re.search(r'<script type="module" src="(/static/rooms/room\.[^"]+)"', page).group(1)
    source = b"".join(browser.get(entry).streaming_content).decode()
    imported = {f"/static/rooms/{path}" for path in re.findall(r'from "\./([^"]+)"', source)}
    assert imported and imported <= set(preloads)
