"""Clients that hold a connection without finishing their request (slowloris) are cut by uvicorn
as the server command runs it; complete requests are served as before."""

import socket
import sys
import time

import pytest

from tests.live_server import LiveServer

UVICORN = [sys.executable, "-m", "uvicorn", "chatsite.asgi:application", "--host", "127.0.0.1", "--port", "{port}"]
UVICORN += ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets", "--no-proxy-headers"]


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory):
    server = LiveServer(
        tmp_path_factory.mktemp("slow") / "db.sqlite3", command=UVICORN, extra_env={"HTTP_HEADER_TIMEOUT_SECONDS": "1"}
    )
    server.start()
    yield server
    server.stop()


def open_connection(server):
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    connection.settimeout(10)
    return connection


def closed_after(connection):
    """Seconds until the server closes the connection (read returns nothing), or None within 10 s."""
    started = time.monotonic()
    try:
        while connection.recv(1024):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - started


def test_a_request_head_sent_byte_by_byte_is_cut(uvicorn_server):
    connection = open_connection(uvicorn_server)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the end of the headers
    waited = closed_after(connection)
    connection.close()
    assert waited is not None and waited < 8  # cut after about the 1 s limit, not held for ever


def test_a_silent_connection_is_cut_and_a_whole_request_still_served(uvicorn_server):
    silent = open_connection(uvicorn_server)
    assert closed_after(silent) is not None
    silent.close()
    connection = open_connection(uvicorn_server)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = b""
    while chunk := connection.recv(4096):
        answer += chunk
    connection.close()
    assert answer.startswith(b"HTTP/1.1 200")
