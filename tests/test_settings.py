"""Settings that refuse to run insecurely: no published SECRET_KEY outside DEBUG."""

import os
import subprocess
import sys

from tests.live_server import PROJECT_ROOT

PUBLISHED = ("change-me-to-a-long-random-string", "insecure-local-development-key-set-SECRET_KEY-in-production")
SHOW_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def settings_with(tmp_path, **env):
    clean = {name: value for name, value in os.environ.items() if name not in ("SECRET_KEY", "DATABASE_URL", "DEBUG")}
    environment = {**clean, "DJANGO_SETTINGS_MODULE": "chatsite.settings", "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    command = [sys.executable, "-c", f"import django; django.setup(); {SHOW_KEY}"]
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env={**environment, **env}, capture_output=True, text=True, timeout=60
    )


def test_the_published_keys_are_refused_unless_debugging(tmp_path):
    for published in PUBLISHED:
        refused = settings_with(tmp_path, SECRET_KEY=published)
        assert refused.returncode != 0
        assert "SECRET_KEY is a published example" in refused.stderr
        assert settings_with(tmp_path, SECRET_KEY=published, DEBUG="1").stdout.strip() == published


def test_with_nothing_set_a_local_server_makes_its_own_key_once(tmp_path):
    first = settings_with(tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and key not in PUBLISHED
    assert settings_with(tmp_path).stdout.strip() == key  # kept: sessions survive a restart
    key_file = tmp_path / "db.sqlite3.secret-key"
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_a_database_url_without_a_key_is_refused(tmp_path):
    refused = settings_with(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert refused.returncode != 0
    assert "SECRET_KEY must be set" in refused.stderr
