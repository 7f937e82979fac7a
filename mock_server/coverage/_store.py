"""The coverage facts table: one SQLite file shared by every process serving one mock.

It sits beside the live-run store (``<state>.coverage.sqlite3``, ``coverage_path``), so every
gunicorn worker writes to, and reads the union from, one file.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable
from typing import Any, Protocol

from mock_server._sqlite import SharedFile
from mock_server.coverage._facts import Fact

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    client TEXT NOT NULL,
    api TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    PRIMARY KEY (client, api, kind, operation, status, detail)
) WITHOUT ROWID;
"""
_UPSERT = (
    "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (client, api, kind, operation, status, detail) DO UPDATE SET"
    " count = count + excluded.count, last_us = max(last_us, excluded.last_us)"
)


class FactStore(Protocol):
    """Where facts are kept: ``CoverageStore`` (SQLite) or another shared store."""

    path: str

    def add(self, rows: Iterable[tuple[Fact, int, int, int]]) -> None:
        """Add (fact, count, first_us, last_us) rows in one atomic step."""
        ...

    def rows(self, client: str | None = None) -> list[tuple[Any, ...]]:
        """Every stored row (of one client), in a stable order."""
        ...

    def clear(self, client: str | None = None) -> None:
        """Forget everything (or one client)."""
        ...


class CoverageStore:
    """The facts table in one SQLite file, shared by every process serving one mock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = SharedFile(path, _SCHEMA, per_thread=False)

    def connection(self) -> sqlite3.Connection:
        """This process's connection (a connection must not cross a fork); callers lock."""
        return self._file.connection()

    def add(self, rows: Iterable[tuple[Fact, int, int, int]]) -> None:
        """Add (fact, count, first_us, last_us) rows in one transaction."""
        with self._file.transaction() as db:
            db.executemany(_UPSERT, [(*fact, *numbers) for fact, *numbers in rows])

    def rows(self, client: str | None = None) -> list[tuple[Any, ...]]:
        """Every stored row (of one client), in a stable order."""
        query = "SELECT * FROM facts"
        args: tuple[str, ...] = ()
        if client is not None:
            query, args = query + " WHERE client = ?", (client,)
        return self.connection().execute(query + " ORDER BY 1, 2, 3, 4, 5, 6", args).fetchall()

    def clear(self, client: str | None = None) -> None:
        """Forget everything (or one client)."""
        if client is None:
            self.connection().execute("DELETE FROM facts")
        else:
            self.connection().execute("DELETE FROM facts WHERE client = ?", (client,))


def coverage_path(state_path: str | None) -> str:
    """``<dir>/<name>.coverage.sqlite3`` beside the live-run store (a temp file without one)."""
    if not state_path or state_path == ":memory:":
        return os.path.join(tempfile.mkdtemp(prefix="stepspec-coverage-"), "coverage.sqlite3")
    base, _ = os.path.splitext(state_path)
    return base + ".coverage.sqlite3"
