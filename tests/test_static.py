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
