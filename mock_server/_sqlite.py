"""Fork-safe SQLite files shared by the mock's worker processes.

The live-run store (``live/_store.py``), Trigify's enforced rate limit (``trigify/_ratelimit.py``)
and coverage (``coverage/_store.py``) each keep one SQLite file that every gunicorn worker opens.
``SharedFile`` opens it the same way for all three: WAL journal, ``synchronous=NORMAL``, a 10 s busy
timeout, autocommit (``isolation_level=None``) with explicit ``BEGIN IMMEDIATE`` transactions
(``transaction``).

SQLite's per-process lock bookkeeping must never cross a fork: the schema is created on a
connection that is closed at once (the gunicorn master builds the app before forking), and each
process opens its own connections. Connections inherited through a fork stay referenced under
the parent's pid, so the child never closes (nor uses) them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_TIMEOUT_S = 10.0


def connect(path: str, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A new autocommit connection to ``path`` in WAL mode with the busy timeout."""
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=check_same_thread
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    return db


class SharedFile:
    """One SQLite file's connections: one per (process, thread), or one per process shared by
    its threads (``per_thread=False``: callers then serialise their use with their own lock)."""

    def __init__(self, path: str, schema: str = "", *, per_thread: bool = True) -> None:
        self.path = path
        self.per_thread = per_thread
        self._local = threading.local()
        self._shared: dict[int, sqlite3.Connection] = {}
        if schema:
            setup = connect(path)
            try:
                setup.executescript(schema)  # idempotent; executescript manages its transaction
            finally:
                setup.close()  # never let a connection of the gunicorn master reach a worker

    def _by_pid(self) -> dict[int, sqlite3.Connection]:
        if not self.per_thread:
            return self._shared
        by_pid: dict[int, sqlite3.Connection] | None = getattr(self._local, "by_pid", None)
        if by_pid is None:
            by_pid = self._local.by_pid = {}
        return by_pid

    def connection(self) -> sqlite3.Connection:
        """This process's (and, per thread, this thread's) connection, opened on first use."""
        by_pid = self._by_pid()
        pid = os.getpid()
        db = by_pid.get(pid)
        if db is None:
            db = by_pid[pid] = connect(self.path, check_same_thread=self.per_thread)
        return db

    def close(self) -> None:
        """Close this process's (this thread's) connection; the next use opens a new one."""
        db = self._by_pid().pop(os.getpid(), None)
        if db is not None:
            db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if the block raises."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
