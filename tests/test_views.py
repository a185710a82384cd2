"""The home form and the room page, through Django's test client (CSRF checks on)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rooms.limits import CODE_ALPHABET
from rooms.models import Room
from rooms.services.presence import add_presence, beat_heart
from rooms.services.rooms import create_room
from tests.support.home_form import post_home

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client():
    """A client that enforces CSRF like a browser session: it first loads the form for the token."""
    return Client(enforce_csrf_checks=True)


def test_home_page_has_the_contract_form(csrf_client):
    page = csrf_client.get("/").content.decode()
    for snippet in ('name="csrfmiddlewaretoken"', 'name="name"', 'name="code"', 'name="create"', 'name="join"'):
        assert snippet in page
    assert "csrftoken" in csrf_client.cookies


def test_create_makes_a_room_and_redirects_into_it(csrf_client):
    response = post_home(csrf_client, name="  Ann  ", create="")
    room = Room.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.code}/"
    assert len(room.code) == 6 and set(room.code) <= set(CODE_ALPHABET)
    page = csrf_client.get(response["Location"]).content.decode()
    assert 'id="room-code"' in page and room.code in page
    assert csrf_client.session["name"] == "Ann"


def test_create_with_a_title_shows_it_on_the_room_page_and_tab(csrf_client):
    response = post_home(csrf_client, name="Ann", title="Book club", create="")
    page = csrf_client.get(response["Location"]).content.decode()
    assert "<title>Book club · " in page
    assert 'id="room-title"' in page


def test_join_matches_codes_case_insensitively_and_ignores_spaces(csrf_client):
    room = create_room()
    response = post_home(csrf_client, name="Bob", code=f"  {room.code.lower()} ", join="")
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.code}/"


@pytest.mark.parametrize("grouped", ["{a} {b}", "{a}-{b}", " {a} – {b} ", "{a}\u2212{b}", "{a}\u00a0{b}"])
def test_join_accepts_a_code_grouped_with_spaces_or_dashes_and_counts_no_miss(csrf_client, settings, grouped):
    settings.JOIN_MISS_LIMIT = 1
    room = create_room(code="WQ6728")
    for typed in (grouped.format(a="wq6", b="728"), grouped.format(a="Wq6", b="728")):
        response = post_home(csrf_client, name="Bob", code=typed, join="")
        assert response.status_code == 302 and response["Location"] == f"/rooms/{room.code}/"
    # Neither counted as an unknown code: the first real miss is answered, not locked out.
    page = post_home(csrf_client, name="Bob", code="QQQQQQ", join="").content.decode()
    assert "There is no room with code QQQQQQ." in page


def test_a_room_link_with_a_grouped_code_leads_to_the_room(csrf_client):
    room = create_room(code="WQ6728")
    response = csrf_client.get("/rooms/wq6-728/")
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.code}/"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "create": ""}, "Please enter a display name."),
        ({"name": "   ", "code": "ABCDEF", "join": ""}, "Please enter a display name."),
        ({"name": "x" * 33, "create": ""}, "Names can be at most 32 characters."),
        ({"name": "Bob", "code": "", "join": ""}, "Enter the code of the room to join."),
        ({"name": "Bob", "code": "nope42", "join": ""}, "There is no room with code NOPE42."),
    ],
)
def test_form_errors_are_shown_and_typed_values_kept(csrf_client, data, error):
    response = post_home(csrf_client, **data)
    assert response.status_code == 200
    page = response.content.decode()
    assert error in page
    for field in ("name", "code"):
        if data.get(field, "").strip():
            assert f'value="{data[field]}"' in page
    assert Room.objects.count() == 0


def room_with_member(name, session_key="someone-else"):
    """A room where a session other than the test's is present under `name`."""
    room = create_room()
    beat_heart("server-a")
    add_presence(room, "server-a", f"channel-{session_key}", name, session_key)
    return room


@pytest.mark.parametrize("typed", ["Ann", "  ann ", "ＡＮＮ"])
def test_joining_under_a_present_members_name_is_refused_next_to_the_name(csrf_client, typed):
    room = room_with_member("Ann")
    response = post_home(csrf_client, name=typed, code=room.code.lower(), join="")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Someone in this room is already called {typed.strip()}; please choose another name." in page
    assert 'class="field field-invalid"' in page and 'id="id_name_error"' in page
    assert f'value="{typed}"' in page and f'value="{room.code.lower()}"' in page
    assert "name" not in csrf_client.session


def test_a_name_is_free_again_once_its_member_left_and_free_in_other_rooms(csrf_client):
    room_with_member("Ann")
    elsewhere = create_room()
    assert post_home(csrf_client, name="Ann", code=elsewhere.code, join="").status_code == 302


def test_the_name_prompt_refuses_a_present_members_name(csrf_client):
    room = room_with_member("Ann")
    csrf_client.get(f"/rooms/{room.code}/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(f"/rooms/{room.code}/", {"name": "ANN", "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert "Someone in this room is already called ANN; please choose another name." in response.content.decode()
    response = csrf_client.post(f"/rooms/{room.code}/", {"name": "Annie", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_a_shared_link_asks_for_another_name_when_the_remembered_one_is_taken(csrf_client):
    room = room_with_member("Ann")
    post_home(csrf_client, name="Ann", create="")
    page = csrf_client.get(f"/rooms/{room.code}/").content.decode()
    assert "Someone in this room is already called Ann; please choose another name." in page
    assert 'id="messages"' not in page


def test_the_same_session_comes_back_under_its_own_name(csrf_client):
    post_home(csrf_client, name="Ann", create="")
    room = room_with_member("Ann", session_key=csrf_client.session.session_key)
    assert post_home(csrf_client, name="ann", code=room.code, join="").status_code == 302
    assert 'id="messages"' in csrf_client.get(f"/rooms/{room.code}/").content.decode()


def test_post_without_csrf_token_is_refused(csrf_client):
    response = csrf_client.post("/", {"name": "Ann", "create": ""})
    assert response.status_code == 403
    assert Room.objects.count() == 0


def test_room_page_without_a_name_asks_for_one_and_then_enters(csrf_client):
    room = create_room()
    page = csrf_client.get(f"/rooms/{room.code}/")
    assert page.status_code == 200
    assert "Join room" in page.content.decode() and 'name="name"' in page.content.decode()
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(f"/rooms/{room.code}/", {"name": "Cat", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert 'id="messages"' in csrf_client.get(f"/rooms/{room.code}/").content.decode()


def test_name_prompt_rejects_a_blank_name(csrf_client):
    room = create_room()
    csrf_client.get(f"/rooms/{room.code}/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(f"/rooms/{room.code}/", {"name": "  ", "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert "Please enter a display name." in response.content.decode()


def test_unknown_room_goes_home_with_an_error(csrf_client):
    response = csrf_client.get("/rooms/QQQQQQ/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "There is no room with code QQQQQQ." in response.content.decode()


def test_lower_case_room_url_redirects_to_the_canonical_code(csrf_client):
    room = create_room()
    response = csrf_client.get(f"/rooms/{room.code.lower()}/")
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.code}/"


def test_room_page_has_the_contract_elements_and_no_inline_user_data(csrf_client):
    response = post_home(csrf_client, name='<img src=x onerror="alert(1)">', title="<script>x()</script>", create="")
    page = csrf_client.get(response["Location"]).content.decode()
    for element_id in ("messages", "message", "send", "leave", "members", "room-code"):
        assert f'id="{element_id}"' in page
    assert "<img src=x" not in page
    assert "<script>x()" not in page
    assert 'type="application/json"' in page  # configuration travels as JSON, not pasted into code


def test_leave_clears_the_sessions_room_and_goes_home(csrf_client):
    response = post_home(csrf_client, name="Ann", create="")
    csrf_client.get(response["Location"])
    assert csrf_client.session["room"]
    code = response["Location"].split("/")[2]
    response = csrf_client.post(
        f"/rooms/{code}/leave/", {"csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert "room" not in csrf_client.session
    assert Room.objects.filter(code=code).exists()


def test_reloading_the_room_page_writes_nothing_and_coming_back_from_another_room_does(csrf_client):
    first = post_home(csrf_client, name="Ann", create="")["Location"]
    csrf_client.get(first)
    with CaptureQueriesContext(connection) as reload:
        assert csrf_client.get(first).status_code == 200
    assert not [query["sql"] for query in reload if not query["sql"].startswith("SELECT")]
    second = post_home(csrf_client, name="Ann", create="")["Location"]
    csrf_client.get(second)
    with CaptureQueriesContext(connection) as back:
        csrf_client.get(first)
    assert any(query["sql"].startswith("UPDATE") for query in back)
    assert csrf_client.session["room"] == first.split("/")[2]
    assert csrf_client.session["joined_rooms"][-1] == first.split("/")[2]


def test_static_files_are_served(csrf_client):
    assert csrf_client.get("/static/rooms/room.js").status_code == 200


def test_healthz_reports_database_and_channel_layer(csrf_client):
    response = csrf_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok", "cache": "ok"}


def test_the_home_page_lists_the_rooms_this_browser_was_in_newest_first(csrf_client):
    first = post_home(csrf_client, name="Ann", title="Book club", create="")["Location"]
    csrf_client.get(first)
    second = post_home(csrf_client, name="Ann", create="")["Location"]
    csrf_client.get(second)
    csrf_client.post(second + "leave/", {"csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value})
    Room.objects.filter(code=second.split("/")[2]).delete()  # a removed room is not offered
    third = post_home(csrf_client, name="Ann", create="")["Location"]
    csrf_client.get(third)
    page = csrf_client.get("/").content.decode()
    assert "Your recent rooms" in page
    assert page.index(f'href="{third}"') < page.index(f'href="{first}"')
    assert f'href="{second}"' not in page
    assert "Book club" in page
    assert "Your recent rooms" not in Client().get("/").content.decode()


def test_error_pages_wear_the_apps_look_and_lead_home(client):
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "<h1>Nothing here</h1>" in text and 'href="/"' in text and "rooms/style.css" in text
    # The 403 page says why (PermissionDenied's message); the 500 page needs no request context.
    from django.template.loader import render_to_string

    refused = render_to_string("403.html", {"exception": "This room needs its passphrase."})
    assert "<h1>Not allowed</h1>" in refused and "This room needs its passphrase." in refused
    assert "<h1>Something went wrong</h1>" in render_to_string("500.html")


def test_pages_carry_a_strict_content_security_policy(csrf_client):
    for url in ("/", "/admin/login/"):
        policy = csrf_client.get(url)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_owner_keys_and_watch_tokens_stay_out_of_the_servers_log(caplog):
    import logging

    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/rooms/ABCDEF/own/s3cretOwnerKey/", "1.1", 302
        )
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "10.0.0.1:5001", "/ws/rooms/ABCDEF/watch/s3cretWatchToken/?after=4"
        )
    logged = caplog.text
    assert "s3cretOwnerKey" not in logged and "s3cretWatchToken" not in logged
    assert "/rooms/ABCDEF/own/[hidden]/" in logged
    assert "/ws/rooms/ABCDEF/watch/[hidden]/?after=4" in logged


def test_a_locked_sqlite_database_answers_a_friendly_busy_page(monkeypatch):
    from django.db import OperationalError

    import rooms.views

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(rooms.views, "create_room", locked)
    browser = Client(raise_request_exception=False)
    response = browser.post("/", {"name": "Ann", "create": ""})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "roomchat is busy" in response.content.decode()


def test_other_server_errors_stay_server_errors(monkeypatch):
    import rooms.views

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(rooms.views, "create_room", broken)
    response = Client(raise_request_exception=False).post("/", {"name": "Ann", "create": ""})
    assert response.status_code == 500


def test_joining_reads_the_room_once_per_request(client, django_assert_max_num_queries):
    # A join storm is this path a thousand times: the form (room, name taken?, session insert) and the
    # page (session, room, kick, ban, names, first history page, session update).
    room = create_room()
    with django_assert_max_num_queries(5):
        assert post_home(client, name="Zed", code=room.code, join="").status_code == 302
    with django_assert_max_num_queries(9):
        assert client.get(f"/rooms/{room.code}/").status_code == 200
