"""docker-compose.yml, the Dockerfile and deploy/nginx.conf agree with each other and with settings.

Docker is not available where the suite runs, so these read the files the way `docker compose` and
nginx would and check that the pieces line up: services, commands, ports, environment.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WEB_WORKERS = ["web1", "web2"]
WEB_COMMAND = (
    "uvicorn chatsite.asgi:application --host 0.0.0.0 --port 8000"
    " --loop uvloop --http httptools"
    " --ws chatsite.websocket_protocol:CoalescingWebSocketProtocol"  # uvicorn's sans-I/O, writes coalesced
    " --ws-per-message-deflate false --lifespan off"
    " --ws-max-size 1048576"  # uvicorn's default accepts 16 MiB frames
    " --no-proxy-headers"  # X-Forwarded-For is the app's to believe (TRUSTED_PROXY_COUNT), not uvicorn's
)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def nginx():
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    return re.sub(r"#.*", "", text)  # directives only


def argv(command):
    return shlex.split(command) if isinstance(command, str) else list(command)


def substitute(value, given):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation, from `given` only."""

    def replace(match):
        name, operator, default = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if operator == ":?":
            raise KeyError(f"{name} is required: {default}")
        return default or ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", replace, str(value))


def env_names_read_by_settings():
    source = (ROOT / "chatsite" / "settings.py").read_text()
    pattern = r"""(?:os\.environ\.get|os\.environ\[|os\.getenv|env_int|env_bool|env_list)\(?\s*["']([A-Z0-9_]+)["']"""
    checked = r"""["']([A-Z0-9_]+)["']\s+(?:not\s+)?in\s+os\.environ"""  # DATABASE_URL: read by dj-database-url
    return set(re.findall(pattern, source)) | set(re.findall(checked, source))


def env_names_in_example():
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {match.group(1) for line in lines if (match := re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line))}


def test_compose_has_the_production_services(services):
    assert set(services) >= {"postgres", "redis", "migrate", "nginx", *WEB_WORKERS}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["nginx"]["image"].startswith("nginx:")


def test_web_workers_run_uvicorn_on_the_port_nginx_proxies_to(services, nginx):
    for name in WEB_WORKERS:
        assert services[name]["command"] == WEB_COMMAND
        assert "8000" in [str(port) for port in services[name]["expose"]]
    upstream = re.search(r"upstream\s+(\w+)\s*\{([^}]*)\}", nginx)
    assert upstream, "nginx.conf defines an upstream"
    servers = re.findall(r"server\s+([\w.-]+):(\d+)", upstream.group(2))
    assert sorted(servers) == [(name, "8000") for name in WEB_WORKERS]
    assert f"proxy_pass http://{upstream.group(1)};" in nginx


def test_nginx_passes_websockets_and_keeps_idle_chats_open(services, nginx):
    assert "proxy_http_version 1.1;" in nginx
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", nginx)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", nginx)
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*default\s+upgrade;", nginx)
    timeout = re.search(r"proxy_read_timeout\s+(\d+)([smhd]?);", nginx)
    seconds = int(timeout.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[timeout.group(2)]
    assert seconds >= 600, "nginx's 60 s default would cut idle chats"
    # The published port reaches the port nginx listens on, and nginx gets this very file.
    listen = re.search(r"listen\s+(\d+);", nginx).group(1)
    assert any(str(port).split(":")[-1] == listen for port in services["nginx"]["ports"])
    mounts = [volume.split(":")[:2] for volume in services["nginx"]["volumes"]]
    assert ["./deploy/nginx.conf", "/etc/nginx/conf.d/default.conf"] in mounts
    assert set(services["nginx"]["depends_on"]) == set(WEB_WORKERS)


def test_migrations_run_once_before_the_web_workers(services):
    migrate = services["migrate"]
    assert argv(migrate["command"])[:3] == ["python", "manage.py", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in WEB_WORKERS:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(argv(services[name]["healthcheck"]["test"]))


def test_web_environment_points_at_the_compose_database_and_redis(services):
    postgres = services["postgres"]["environment"]
    for name in ["migrate", *WEB_WORKERS]:
        environment = services[name]["environment"]
        database = urllib.parse.urlsplit(environment["DATABASE_URL"])
        assert database.scheme == "postgres" and database.hostname == "postgres"
        assert (database.username, database.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
        assert database.path == "/" + postgres["POSTGRES_DB"]
        assert urllib.parse.urlsplit(environment["REDIS_URL"]).hostname == "redis"
        assert environment["DEBUG"] == "0"
        assert {"path": ".env", "required": False} in services[name]["env_file"]
        with pytest.raises(KeyError, match="SECRET_KEY"):
            substitute(environment["SECRET_KEY"], {})  # compose refuses to start without a key


def test_every_setting_is_explained_in_env_example(services):
    example = env_names_in_example()
    missing = env_names_read_by_settings() - example
    assert not missing, f".env.example lacks {sorted(missing)}"
    for name in WEB_WORKERS:
        unknown = set(services[name]["environment"]) - env_names_read_by_settings()
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


def test_settings_built_from_the_compose_environment_use_postgresql_and_redis(services):
    given = {"SECRET_KEY": "from-dot-env"}
    environment = {key: substitute(value, given) for key, value in services["web1"]["environment"].items()}
    probe = (
        "import json; from django.conf import settings;"
        "print(json.dumps({'db': settings.DATABASES['default'], 'layer': settings.CHANNEL_LAYERS['default'],"
        "'storage': settings.STORAGES['staticfiles']['BACKEND'], 'static_root': str(settings.STATIC_ROOT),"
        "'debug': settings.DEBUG}, default=str))"
    )
    clean = {key: value for key, value in os.environ.items() if key not in env_names_read_by_settings()}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**clean, **environment, "DJANGO_SETTINGS_MODULE": "chatsite.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = json.loads(result.stdout)
    assert loaded["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert (loaded["db"]["HOST"], loaded["db"]["NAME"]) == ("postgres", "roomchat")
    assert loaded["layer"]["BACKEND"].startswith("channels_redis.")
    assert loaded["layer"]["CONFIG"]["hosts"] == [environment["REDIS_URL"]]
    assert loaded["layer"]["CONFIG"]["prefix"] == environment["REDIS_PREFIX"]
    assert loaded["storage"] == "chatsite.static_storage.ManifestStaticFilesStorage"
    assert loaded["static_root"] == environment["STATIC_ROOT"]
    assert loaded["debug"] is False


def test_the_image_collects_static_files_and_runs_the_same_server_command(services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", dockerfile, re.MULTILINE)
    assert json.loads(cmd.group(1)) == argv(WEB_COMMAND)
    assert re.search(r"^RUN .*manage\.py collectstatic --noinput", dockerfile, re.MULTILINE)
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.MULTILINE)
    static_root = re.search(r"STATIC_ROOT=(\S+)", dockerfile).group(1)
    assert services["web1"]["environment"]["STATIC_ROOT"] == static_root
    assert services["web1"]["build"] == "."
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".env", ".git", "staticfiles"} <= set(ignored)
    assert any(pattern.startswith("db.sqlite3") for pattern in ignored)
