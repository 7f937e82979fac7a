"""The SQLite live-run store: connections never cross a fork, exactly-once claims, last-writer
inputs, expiry."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from mock_server._timeline import HitlResponse
from mock_server.live import Expiry, SqliteStore

API = "kibana"


def _name(seq: int) -> str:
    return f"run-{seq}"


def _open_descriptors(path: Path) -> list[str]:
    """Paths of this process's open file descriptors that point at the store's files."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_building_a_store_leaves_no_connection_open(tmp_path: Path) -> None:
    # create_app runs in the gunicorn master (preload_app): whatever it leaves open is inherited
    # by every worker; an inherited SQLite connection loses writes across the fork.
    path = tmp_path / "live.sqlite3"
    SqliteStore(str(path))
    assert _open_descriptors(path) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_children_write_through_their_own_connections(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite3"
    store = SqliteStore(str(path))
    store.create_run(API, "wf", 1, {}, _name)  # the parent holds a connection when it forks
    children = []
    for child in range(4):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            try:
                for i in range(50):
                    run = store.create_run(API, "wf", 10 + i, {"child": child}, _name)
                    store.record_response(run.run_id, 0, HitlResponse("bot", i, "api", {}))
            except BaseException:
                code = 1
            os._exit(code)
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    store.create_run(API, "wf", 2, {}, _name)  # the parent's connection still works
    runs = store.runs_for_workflow(API, "wf")
    assert len(runs) == 202
    assert len({run.run_id for run in runs}) == 202
    assert all(store.events(run.run_id).responses for run in runs if run.spec)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_claim_is_granted_once(tmp_path: Path) -> None:
    first, second = SqliteStore(str(tmp_path / "s.db")), SqliteStore(str(tmp_path / "s.db"))
    assert first.claim("auto:kibana:0:1:0", 5) is True
    assert second.claim("auto:kibana:0:1:0", 6) is False
    assert second.claim("auto:kibana:0:1:1", 6) is True


def test_a_later_answer_replaces_the_input_and_keeps_the_first_responder(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    run = store.create_run(API, "wf", 1, {}, _name)
    assert store.replace_input(run.run_id, 0, {"approved": False}) is False  # nothing to replace
    assert store.record_response(run.run_id, 0, HitlResponse("alice", 7, "inbox", {"n": 1}))
    assert store.replace_input(run.run_id, 0, {"n": 2}) is True
    assert store.events(run.run_id).responses[0] == HitlResponse("alice", 7, "inbox", {"n": 2})


def test_prune_drops_old_runs_and_keeps_the_newest_per_api(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    for started in range(10):
        run = store.create_run(API, "wf", started, {}, _name)
        store.record_cancel(run.run_id, started)
        store.create_run("arcee", "wf", started, {}, lambda seq: f"arcee-{seq}")
    store.anchor("static-1", 0, 1)
    store.claim("old", 1)
    deleted = store.prune(cutoff_us=3, keep=5)
    kept = [run.started_us for run in store.runs_for_workflow(API, "wf")]
    assert kept == [9, 8, 7, 6, 5]
    assert [r.started_us for r in store.runs_for_workflow("arcee", "wf")] == [9, 8, 7, 6, 5]
    assert deleted == 10
    assert store.get_run("run-1") is None
    assert store.events("run-1").cancelled_us is None
    assert store.get_anchor("static-1") is None
    assert store.claim("old", 9) is True  # the expired claim was forgotten


def test_expiry_prunes_on_every_nth_insert_only(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))

    class Ctx:  # the two things Expiry reads from a MockContext
        def __init__(self) -> None:
            self.store = store

        @staticmethod
        def clock() -> int:
            return 1_000

    rule = Expiry(ttl_us=100, keep=1_000, every=4)
    pruned = []
    for started in (1, 2, 3, 950, 960):
        run = store.create_run(API, "wf", started, {}, _name)
        pruned.append(rule.after_insert(Ctx(), run))  # type: ignore[arg-type]
    assert pruned == [0, 0, 0, 3, 0]  # the 4th insert removed the runs older than 1000 - 100
    assert [r.started_us for r in store.runs_for_workflow(API, "wf")] == [960, 950]
