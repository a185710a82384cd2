"""REDIS_CHANNEL_LAYER picks the channels-redis layer when REDIS_URL is set."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOW_LAYERS = "import json; from chatsite import settings; print(json.dumps(settings.CHANNEL_LAYERS))"


def settings_with(**env):
    environment = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CHANNEL_LAYER")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", SHOW_LAYERS], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("choice", "backend"),
    [
        ("pubsub", "channels_redis.pubsub.RedisPubSubChannelLayer"),
        ("core", "channels_redis.core.RedisChannelLayer"),
    ],
)
def test_redis_channel_layer_selects_the_backend(choice, backend):
    result = settings_with(REDIS_URL="redis://127.0.0.1:6379/11", REDIS_CHANNEL_LAYER=choice)
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)["default"]
    assert layer["BACKEND"] == backend
    assert layer["CONFIG"]["hosts"] == ["redis://127.0.0.1:6379/11"]


def test_the_core_layer_gets_room_for_a_whole_process_share_of_busy_rooms():
    result = settings_with(REDIS_URL="redis://127.0.0.1:6379/11", REDIS_CHANNEL_LAYER="core")
    assert json.loads(result.stdout)["default"]["CONFIG"]["capacity"] >= 10000


def test_an_unknown_layer_name_is_refused_with_the_choices():
    result = settings_with(REDIS_URL="redis://127.0.0.1:6379/11", REDIS_CHANNEL_LAYER="kafka")
    assert result.returncode != 0
    assert "REDIS_CHANNEL_LAYER must be one of pubsub, core" in result.stderr


def test_without_redis_the_in_memory_layer_serves_one_process():
    result = settings_with(REDIS_CHANNEL_LAYER="core")
    assert json.loads(result.stdout)["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
