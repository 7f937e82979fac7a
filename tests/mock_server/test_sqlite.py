"""``mock_server._sqlite.SharedFile``: the one way the mock opens its shared SQLite files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mock_server._sqlite import SharedFile

SCHEMA = "CREATE TABLE IF NOT EXISTS t (n INTEGER NOT NULL);"


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    shared = SharedFile(str(tmp_path / "s.sqlite3"), SCHEMA)
    with shared.transaction() as db:
        db.execute("INSERT INTO t VALUES (1)")

    def insert_then_fail() -> None:
        with shared.transaction() as db:
            db.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        insert_then_fail()
    assert shared.connection().execute("SELECT n FROM t").fetchall() == [(1,)]


def test_connections_are_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = SharedFile(str(tmp_path / "s.sqlite3"), SCHEMA).connection()
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA busy_timeout").fetchone() == (10000,)


@pytest.mark.parametrize("per_thread", [True, False])
def test_threads_get_their_own_connection_unless_shared(tmp_path: Path, per_thread: bool) -> None:
    shared = SharedFile(str(tmp_path / "s.sqlite3"), SCHEMA, per_thread=per_thread)
    found = []
    thread = threading.Thread(target=lambda: found.append(shared.connection()))
    thread.start()
    thread.join()
    assert (found[0] is shared.connection()) is not per_thread
    if not per_thread:  # one connection serves every thread of the process
        assert found[0].execute("SELECT n FROM t").fetchall() == []


def test_close_opens_a_fresh_connection_next_time(tmp_path: Path) -> None:
    shared = SharedFile(str(tmp_path / "s.sqlite3"), SCHEMA)
    first = shared.connection()
    shared.close()
    assert shared.connection() is not first
