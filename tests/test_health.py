"""GET /healthz: what a load balancer or `docker compose` health check sees."""

import pytest
from django.db import OperationalError, connections
from django.test import Client

from tests.live_server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthy_answers_200_with_every_check_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok", "cache": "ok"}


def test_unreachable_database_answers_503_naming_the_database(monkeypatch):
    def refuse(self, name=None):
        raise OperationalError("connection refused")

    # Every cursor fails as when the server is down (an in-memory test database cannot be closed).
    monkeypatch.setattr(type(connections["default"]), "create_cursor", refuse)
    response = Client().get("/healthz")
    monkeypatch.undo()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database"]
    assert body["database"].startswith("error: ")
    assert body["channel_layer"] == "ok"


def test_unreachable_channel_layer_answers_503_naming_the_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},  # nothing listens there
        }
    }
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["channel_layer"]
    assert body["channel_layer"].startswith("error: ")
    assert body["database"] == "ok"


@pytest.mark.production
def test_health_probes_through_redis_leave_no_subscription_behind(settings):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    before = client.pubsub_channels(f"{prefix}*")
    browser = Client()
    for _ in range(5):
        response = browser.get("/healthz")
        assert response.status_code == 200, response.content
        assert response.json()["channel_layer"] == "ok"
    assert client.pubsub_channels(f"{prefix}*") == before
