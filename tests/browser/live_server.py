"""scripts/screenshots.py imports the launcher from here; the tests import tests.live_server."""

from tests.live_server import LiveServer  # noqa: F401
