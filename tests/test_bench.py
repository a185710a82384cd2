"""The load generator against real servers: every message reaches every member exactly once.

Correctness only (never timings): a few seconds of traffic through the full browser flow
(home form, session cookie, websocket) must lose nothing and duplicate nothing, under both
supported servers.
"""

import sys
import tempfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402
import run as bench_run  # noqa: E402


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_loadgen_traffic_arrives_once_at_every_member(server):
    with tempfile.TemporaryDirectory(prefix="roomchat-bench-test-") as workdir:
        env = bench_run.django_env(workdir, processes=1, layer=None)
        bench_run.prepare_database(env, processes=1)
        with bench_run.Servers(server, 1, workdir, env) as servers:
            result = loadgen.run_chat(
                servers.urls,
                rooms=2,
                members=3,
                rate=2.0,
                duration=2.0,
                server_pids=servers.pids,
                workers=1,
                settle=0.5,
                drain=15.0,
            )
    assert result["connections"] == 6
    assert result["sent"] == 2 * 3 * 4
    assert result["expected"] == 2 * 3 * 4 * 3
    assert result["delivered"] == result["expected"]
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["errors"] == {}
    assert result["closed_by_server"] == 0


def test_floor_server_traffic_arrives_once_at_every_member():
    with tempfile.TemporaryDirectory(prefix="roomchat-bench-test-") as workdir:
        with bench_run.Servers("floor", 1, workdir, env=None) as servers:
            result = loadgen.run_chat(
                servers.urls,
                rooms=2,
                members=3,
                rate=2.0,
                duration=1.0,
                server_pids=servers.pids,
                workers=1,
                floor=True,
                settle=0.2,
                drain=10.0,
            )
    assert result["delivered"] == result["expected"] == 2 * 3 * 2 * 3
    assert result["duplicates"] == 0
