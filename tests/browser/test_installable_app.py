"""roomchat installed as an app, in Chromium: the service worker registers and takes control, keeps
the app shell alone in its cache, shows the offline page (never a stale room) when the network is
gone, and Chrome finds the home and room pages installable."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import violations
from tests.support.browser import Person, wait_for_true

CONTROLLED = "navigator.serviceWorker.controller !== null"
ACTIVATED = "navigator.serviceWorker.controller?.state === 'activated'"
# Every cache of the origin and the URLs in each, read from the page (the Cache API it shares with
# the worker).
CACHE_CONTENTS = """async () => {
  const contents = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    contents[name] = (await cache.keys()).map((request) => new URL(request.url).pathname);
  }
  return contents;
}"""
NEVER_CACHED = ("/rooms/", "/api/", "/hooks/", "/uploads/", "/admin/", "/healthz", "/ws/")


def wait_for_worker(person):
    """Until the service worker controls the page (it claims the pages open when it activates).
    A browser whose install failed (it fetches the whole shell) tries again on the next load, as
    a person's would; after the suite's encrypted-room tests the first install sometimes fails."""
    try:
        wait_for_true(person.page, ACTIVATED, timeout=15)
    except AssertionError:
        person.page.reload()
        wait_for_true(person.page, ACTIVATED, timeout=15)


def expect_offline_page(page):
    expect(page.locator("h1")).to_have_text("You are offline")
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    expect(page.locator("body")).to_contain_text("messages are stored on the server")


def test_the_worker_activates_and_caches_the_app_shell_and_nothing_of_the_room(people):
    (ann,) = people(1)
    code = ann.create_room("Ann")
    ann.send("The door code is 4711")
    expect(ann.message("The door code is 4711")).to_have_count(1)
    wait_for_worker(ann)
    assert ann.page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/service-worker.js")
    ann.page.reload()  # the room again, now through the worker
    ann.wait_in_room()
    # What the page asks for besides its shell (a transcript, the room, the health check, an upload)
    # the worker leaves to the network: it does not answer them, and caches none.
    for path, method in (
        (f"/rooms/{code}/transcript.text", "GET"),
        ("/healthz", "GET"),
        (f"/rooms/{code}/uploads/", "POST"),
    ):
        with ann.page.expect_response(lambda response, path=path: response.url.endswith(path)) as answer:
            ann.page.evaluate(f"fetch('{path}', {{method: '{method}'}}).then((response) => response.status)")
        assert not answer.value.from_service_worker, path
    with ann.page.expect_response(lambda response: "/static/rooms/style.css" in response.url) as answer:
        ann.page.evaluate("fetch('/static/rooms/style.css').then((response) => response.status)")
    assert answer.value.from_service_worker  # a file of the shell: from the worker's cache

    caches = ann.page.evaluate(CACHE_CONTENTS)
    assert list(caches) == [name for name in caches if re.fullmatch(r"roomchat-shell-[0-9a-f]{16}", name)]
    assert len(caches) == 1
    (cached,) = caches.values()
    assert {"/offline/", "/static/rooms/style.css", "/static/rooms/room.js", "/static/rooms/install.js"} <= set(cached)
    assert all(path == "/offline/" or path.startswith("/static/") for path in cached), cached
    assert not [path for path in cached if path.startswith(NEVER_CACHED) or path == "/"], cached


def test_offline_a_room_or_the_home_page_shows_the_offline_page_never_the_stale_room(people):
    (ann,) = people(1)
    code = ann.create_room("Ann")
    ann.send("Meet at the north gate")
    expect(ann.message("Meet at the north gate")).to_have_count(1)
    wait_for_worker(ann)
    room_url = f"{ann.base_url}/rooms/{code}/"

    ann.context.set_offline(True)
    try:
        ann.page.reload()
        expect_offline_page(ann.page)
        assert ann.page.url == room_url  # it stands in for the room, at the room's address
        expect(ann.page.locator("body")).not_to_contain_text("Meet at the north gate")
        expect(ann.page.locator("#messages")).to_have_count(0)
        # Its styles came from the worker's cache: the page is the app's, not the browser's error.
        assert ann.page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") == "10px"

        ann.goto("/")
        expect_offline_page(ann.page)
        ann.goto(f"/rooms/{code}/")
        expect_offline_page(ann.page)
        assert ann.page.url == room_url
    finally:
        ann.context.set_offline(False)

    # Back online, the page loads its own address again: the room, with its messages from the server.
    ann.page.wait_for_url(room_url)
    expect(ann.page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(ann.message("Meet at the north gate")).to_have_count(1)


def test_the_offline_page_loads_the_room_again_once_the_server_answers(people, own_server):
    (ann,) = people(1, server=own_server)
    code = ann.create_room("Ann")
    wait_for_worker(ann)
    own_server.stop()
    # The network is up and the server is not: no "online" event is coming.
    ann.page.reload()
    expect_offline_page(ann.page)
    own_server.start()
    expect(ann.page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=20000)
    assert ann.page.url == f"{ann.base_url}/rooms/{code}/"


def test_try_again_loads_the_same_address_again(people):
    (ann,) = people(1)
    code = ann.create_room("Ann")
    wait_for_worker(ann)
    ann.context.set_offline(True)
    try:
        ann.page.reload()
        expect_offline_page(ann.page)
        ann.page.get_by_role("link", name="Try again").focus()
        with ann.page.expect_event("framenavigated") as navigated:
            ann.page.keyboard.press("Enter")
        assert navigated.value.url == f"{ann.base_url}/rooms/{code}/"
        expect_offline_page(ann.page)  # still offline: the offline page again, at the room's address
    finally:
        ann.context.set_offline(False)
    assert ann.wait_in_room() == code


def test_a_new_deploy_replaces_the_cached_shell(people, own_server, static_root):
    (ann,) = people(1, server=own_server)
    ann.goto("/")
    wait_for_worker(ann)
    (first_deploy,) = ann.page.evaluate(CACHE_CONTENTS)
    assert ann.page.evaluate("caches.open('another-apps-cache').then(() => true)")

    # The same server again, now with its static files collected (hashed names): a new deploy.
    own_server.stop()
    own_server.env.update(STATIC_MANIFEST="1", STATIC_ROOT=str(static_root))
    own_server.start()
    ann.page.reload()  # a navigation checks for a new worker, which installs and activates at once
    wait_for_true(ann.page, f"caches.has('{first_deploy}').then((has) => !has)", timeout=15)

    caches = ann.page.evaluate(CACHE_CONTENTS)
    assert "another-apps-cache" in caches  # only the app's own old shells are deleted
    (second_deploy,) = [name for name in caches if name.startswith("roomchat-shell-")]
    assert second_deploy != first_deploy
    assert any(re.fullmatch(r"/static/rooms/style\.[0-9a-f]{12}\.css", path) for path in caches[second_deploy])
    stylesheet = ann.page.locator("link[rel=stylesheet]").get_attribute("href")
    assert stylesheet in caches[second_deploy]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_offline_page_is_axe_clean(people, scheme):
    (ann,) = people(1, color_scheme=scheme)
    ann.create_room("Ann")
    wait_for_worker(ann)
    ann.context.set_offline(True)
    ann.page.reload()
    expect_offline_page(ann.page)
    assert violations(ann.page) == ""
    ann.context.set_offline(False)


def installability_errors(page):
    session = page.context.new_cdp_session(page)
    try:
        manifest = session.send("Page.getAppManifest")
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    finally:
        session.detach()
    return manifest, errors


def test_chrome_finds_the_home_and_room_pages_installable(browser, app_server, tmp_path):
    """Chrome's own installability checks (the source of Lighthouse's audit), in a persistent
    profile: Chrome offers no installing in an incognito context, which is what new_context() makes."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, NAVIGATION_MS, WAIT_MS

    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=NAVIGATION_MS
    )
    try:
        context.set_default_timeout(WAIT_MS)
        ann = Person(context, app_server.url)
        console = []
        ann.page.on("console", lambda message: console.append(message.text))
        ann.goto("/")
        wait_for_worker(ann)
        manifest, errors = installability_errors(ann.page)
        assert manifest["url"] == f"{app_server.url}/manifest.webmanifest"
        assert manifest["errors"] == []
        assert errors == []

        ann.create_room("Ann")
        manifest, errors = installability_errors(ann.page)
        assert manifest["errors"] == []
        assert errors == []
        assert not ann.page_errors
        # The manifest, the worker and its registration stay within the Content-Security-Policy.
        assert not [text for text in console if "Content Security Policy" in text], console

        # The checks do find fault where there is some: the admin's pages link no manifest.
        ann.goto("/admin/login/")
        _, errors = installability_errors(ann.page)
        assert "no-manifest" in {error["errorId"] for error in errors}
    finally:
        context.close()
