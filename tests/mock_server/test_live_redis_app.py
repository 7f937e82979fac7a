"""The Redis store from the app's side, in-process: configuration, banner, coverage, auto runs.

The multi-host behaviour itself is tested against real processes (``test_live_replicas*.py``);
these tests pin the pieces cheaply.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from mock_server import create_app
from mock_server._config import ConfigError, MockConfig
from mock_server._serve import banner
from mock_server.coverage import CoverageStore
from mock_server.coverage._redis import RedisCoverageStore
from mock_server.live import RedisStore, SqliteStore, open_store
from mock_server.live._auto import RETRY_S
from tests.conftest import TestClock
from tests.real_servers import RedisServer, binary, start_redis

KIBANA = {"Authorization": "ApiKey dGVzdDprZXk=", "kbn-xsrf": "true"}


def test_the_store_setting_takes_a_path_or_a_redis_url() -> None:
    for url in ("redis://127.0.0.1:6379/0", "rediss://user:pw@cache.internal:6380/3", "a.db"):
        assert MockConfig(state_path=url).state_path == url
    assert MockConfig.from_env({"STEPSPEC_STORE": "redis://h:1/0"}).state_path == "redis://h:1/0"
    assert MockConfig.from_env({"STEPSPEC_STORE_PREFIX": "team-a"}).store_prefix == "team-a"
    for bad, problem in (
        ("http://h:1/0", "neither a file path nor a redis"),
        ("redis://:pw@h:70000/0", "invalid port"),
        ("redis:///0", "must look like redis://"),
        ("redis://h:1/db", "must look like redis://"),
    ):
        with pytest.raises(ConfigError, match=problem) as raised:
            MockConfig(state_path=bad)
        assert "pw" not in str(raised.value)
    for prefix in ("", "a b", "x" * 65, "a:b"):
        with pytest.raises(ConfigError, match="store_prefix"):
            MockConfig(store_prefix=prefix)


def test_the_banner_never_shows_the_redis_password() -> None:
    shown = banner(MockConfig(state_path="redis://admin:s3cret@10.0.0.5:6379/2"))
    assert "redis://admin:***@10.0.0.5:6379/2" in shown
    assert "s3cret" not in shown


def test_open_store_picks_the_store_the_setting_names(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    assert isinstance(open_store(MockConfig(state_path=str(tmp_path / "a.db"))), SqliteStore)
    assert isinstance(open_store(MockConfig()), SqliteStore)
    store = open_store(MockConfig(state_path=redis_server.url(1), seed=3, store_prefix="p"))
    assert isinstance(store, RedisStore)
    assert store.key("x") == "p:3:x"


def test_coverage_facts_read_back_from_redis_as_from_sqlite(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    live = RedisStore(redis_server.url(), seed=0, prefix=uuid.uuid4().hex[:12], ttl_s=60)
    stores = [CoverageStore(str(tmp_path / "c.sqlite3")), RedisCoverageStore(live)]
    batches = [
        [
            (("bob", "kibana", "call", "getExecution", 200, ""), 3, 50, 70),
            (("ann", "arcee", "error", "getRun", 404, "Not Found"), 1, 10, 10),
            (("ann", "arcee", "call", "getRun", 404, ""), 1, 10, 10),
        ],
        [
            (("bob", "kibana", "call", "getExecution", 200, ""), 2, 40, 900),
            (("ann", "kibana", "step_state", "getExecution", 0, "waiting_for_input"), 1, 5, 5),
        ],
    ]
    for store in stores:
        for batch in batches:
            store.add(batch)
    rows = [store.rows() for store in stores]
    assert rows[0] == rows[1]
    assert ("bob", "kibana", "call", "getExecution", 200, "", 5, 50, 900) in rows[1]
    assert stores[0].rows("ann") == stores[1].rows("ann")
    for store in stores:
        store.clear("ann")
    assert stores[0].rows() == stores[1].rows() != []
    for store in stores:
        store.clear()
    assert stores[0].rows() == stores[1].rows() == []


def test_auto_runs_wait_for_the_store_and_start_when_it_returns(
    tmp_path: Path, clock: TestClock
) -> None:
    server = start_redis(tmp_path / "redis")
    try:
        app = create_app({"state_path": server.url(), "auto_runs": 60}, clock=clock)
        app.testing = True
        client = app.test_client()
        assert client.get("/api/workflows", headers=KIBANA).status_code == 200
        store = app.extensions["stepspec"].context.store
        claimed = len(list(server.client().scan_iter(store.key("claim", "auto:kibana:*"))))
        server.stop(save=True)
        clock.advance(5)
        assert client.get("/api/workflows", headers=KIBANA).status_code == 200  # still served
        server = server.restart()
        clock.advance(2)
        time.sleep(RETRY_S + 0.1)  # the pause after a fault is on the real clock
        assert client.get("/api/workflows", headers=KIBANA).status_code == 200
        now = len(list(server.client().scan_iter(store.key("claim", "auto:kibana:*"))))
        assert now == claimed + 7  # the slots due while Redis was away, and the ones after
    finally:
        server.stop()


def test_a_missing_server_binary_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        binary("stepspec-no-such-server")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"\.ci/run installs it"):
        binary("stepspec-no-such-server")
