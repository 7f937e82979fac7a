"""The live-run store: runs started over HTTP and what clients did to runs, in SQLite.

Worker processes share nothing but this file. A run is stored as the few facts its plan is
rebuilt from (api, workflow, start, a vendor ``spec`` mapping), never as rendered payloads;
client events (a human's answer, a cancel) are rows beside it. Every write is one short
transaction, and ``record_response``/``record_cancel``/``claim`` use a primary key so that of many
concurrent calls exactly one wins, in every process (``claim`` is how workers agree on which of
them starts an automatic run, see ``_auto``). ``replace_input`` then lets later answers overwrite
the recorded input (Kibana's resume writes ``context.resumeInput``: the last writer wins).

The store also anchors *thawed* static runs: when a client acts on a run of the seeded world
(resume, cancel), that run leaves the frozen world moment and is observed on a clock anchored at
the action (``anchor``), so it can progress like a live run.

Connections never cross a ``fork``. ``stepspec mock`` builds the app in the gunicorn master
(``preload_app``) and forks workers from it; an SQLite connection inherited across a fork shares
file locks and WAL-index state with its parent and loses or corrupts writes. So ``__init__``
closes the connection it creates the schema with, and every later connection is opened lazily,
one per thread, and belongs to the process that opened it (keyed by ``os.getpid()``): a child
opens its own and never touches (or closes: closing may checkpoint the WAL) an inherited one.

Expiry (``prune``) removes runs, their events and anchors older than a cut-off and keeps at most
the newest ``keep`` runs of each API; ``mock_server.live._expiry`` decides when to call it.

Without a store path the mock uses ``temporary_store_path()``: a fresh ``$TMPDIR/stepspec-mock-*``
folder that the process which made it removes at exit, with the coverage and rate-limit files
beside the store (forked gunicorn workers inherit the exit hook and leave the folder alone).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from mock_server._sqlite import SharedFile
from mock_server._timeline import HitlResponse, RunEvents

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT UNIQUE,
    api TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    started_us INTEGER NOT NULL,
    spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (api, workflow_id, started_us);
CREATE TABLE IF NOT EXISTS anchors (
    run_id TEXT PRIMARY KEY,
    world_us INTEGER NOT NULL,
    real_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    responded_by TEXT NOT NULL,
    responded_us INTEGER NOT NULL,
    channel TEXT NOT NULL,
    input TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS cancels (
    run_id TEXT PRIMARY KEY,
    cancelled_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    claim TEXT PRIMARY KEY,
    at_us INTEGER NOT NULL
);
"""


def temporary_store_path() -> str:
    """A store file in a new temporary folder that this process removes when it exits."""
    folder = tempfile.mkdtemp(prefix="stepspec-mock-")
    atexit.register(_remove_folder, folder, os.getpid())
    return os.path.join(folder, "state.sqlite3")


def _remove_folder(folder: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:
        shutil.rmtree(folder, ignore_errors=True)


STORE_UNAVAILABLE = "live-run store unavailable"
"""The message of the 503 every vendor answers while a networked store cannot be reached."""


class StoreUnavailable(RuntimeError):
    """A networked store cannot be reached (or timed out) right now; the app answers 503.

    SQLite never raises it: a local file is available or the mock is broken. ``RedisStore``
    raises it for connection losses and timeouts, which pass by themselves when Redis returns.
    """


@dataclass(frozen=True)
class Anchor:
    """A thawed static run: world time ``world_us`` corresponds to real time ``real_us``."""

    world_us: int
    real_us: int


@dataclass(frozen=True)
class LiveRun:
    """One run started over HTTP, as stored."""

    seq: int
    """Store-wide sequence number (1, 2, ...): vendors derive the run's public id from it."""
    run_id: str
    api: str
    workflow_id: str
    started_us: int
    spec: Mapping[str, Any] = field(default_factory=dict)
    """What the vendor needs to rebuild the plan (inputs, test flag, space, scenario ...)."""


class LiveStore(Protocol):
    """What vendors need from a live-run store (``SqliteStore``, or ``RedisStore`` for several
    hosts). Any method of a networked store may raise ``StoreUnavailable``; each write is one
    atomic step, so a caller that dies half-way leaves either nothing or the whole write."""

    def create_run(
        self, api: str, workflow_id: str, started_us: int, spec: Mapping[str, Any], id_for: Any
    ) -> LiveRun:
        """Store a new run; ``id_for(seq)`` names it from its sequence number."""
        ...

    def get_run(self, run_id: str) -> LiveRun | None:
        """The stored run, or None."""
        ...

    def runs_for_workflow(self, api: str, workflow_id: str) -> list[LiveRun]:
        """Every stored run of one workflow, newest first."""
        ...

    def events(self, run_id: str) -> RunEvents:
        """Client events of one run (answers by plan position, cancel time)."""
        ...

    def record_response(self, run_id: str, position: int, response: HitlResponse) -> bool:
        """Record a human's answer; True for exactly one of any number of concurrent calls."""
        ...

    def replace_input(self, run_id: str, position: int, payload: Mapping[str, Any]) -> bool:
        """Overwrite the input of a recorded answer (the last writer wins); False if none."""
        ...

    def record_cancel(self, run_id: str, cancelled_us: int) -> bool:
        """Record a cancel; True only for the first."""
        ...

    def anchor(self, run_id: str, world_us: int, real_us: int) -> Anchor:
        """Thaw a static run at (world_us, real_us); the first anchor of a run wins."""
        ...

    def get_anchor(self, run_id: str) -> Anchor | None:
        """The anchor of a thawed static run, or None while it is frozen."""
        ...

    def claim(self, key: str, at_us: int) -> bool:
        """Record ``key`` (about moment ``at_us``) once; True for exactly one caller across
        every process, until ``prune`` forgets claims older than its cut-off."""
        ...

    def prune(self, cutoff_us: int, keep: int) -> int:
        """Delete runs started before ``cutoff_us`` and all but the newest ``keep`` per API
        (with their events); returns how many runs were deleted."""
        ...


class SqliteStore:
    """``LiveStore`` in one SQLite file (WAL mode), one connection per thread and process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = SharedFile(path, _SCHEMA)
        self._db = self._file.connection
        self._write = self._file.transaction

    def close(self) -> None:
        """Close this thread's connection of this process (others close with their thread)."""
        self._file.close()

    def create_run(
        self, api: str, workflow_id: str, started_us: int, spec: Mapping[str, Any], id_for: Any
    ) -> LiveRun:
        """Store a new run; ``id_for(seq)`` names it from its sequence number."""
        blob = orjson.dumps(dict(spec)).decode()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO runs (api, workflow_id, started_us, spec) VALUES (?, ?, ?, ?)",
                (api, workflow_id, started_us, blob),
            )
            seq = int(cursor.lastrowid or 0)
            run_id = str(id_for(seq))
            db.execute("UPDATE runs SET run_id = ? WHERE seq = ?", (run_id, seq))
        return LiveRun(seq, run_id, api, workflow_id, started_us, dict(spec))

    def get_run(self, run_id: str) -> LiveRun | None:
        """The stored run, or None."""
        row = (
            self._db()
            .execute(
                "SELECT seq, run_id, api, workflow_id, started_us, spec FROM runs WHERE run_id = ?",
                (run_id,),
            )
            .fetchone()
        )
        return _run(row) if row else None

    def runs_for_workflow(self, api: str, workflow_id: str) -> list[LiveRun]:
        """Every stored run of one workflow, newest first."""
        rows = (
            self._db()
            .execute(
                "SELECT seq, run_id, api, workflow_id, started_us, spec FROM runs"
                " WHERE api = ? AND workflow_id = ? AND run_id IS NOT NULL"
                " ORDER BY started_us DESC, seq DESC",
                (api, workflow_id),
            )
            .fetchall()
        )
        return [_run(row) for row in rows]

    def events(self, run_id: str) -> RunEvents:
        """Client events of one run (answers by plan position, cancel time)."""
        db = self._db()
        answers = db.execute(
            "SELECT position, responded_by, responded_us, channel, input FROM responses"
            " WHERE run_id = ?",
            (run_id,),
        ).fetchall()
        cancel = db.execute(
            "SELECT cancelled_us FROM cancels WHERE run_id = ?", (run_id,)
        ).fetchone()
        return RunEvents(
            responses={
                int(pos): HitlResponse(by, int(at), channel, orjson.loads(payload))
                for pos, by, at, channel, payload in answers
            },
            cancelled_us=int(cancel[0]) if cancel else None,
        )

    def record_response(self, run_id: str, position: int, response: HitlResponse) -> bool:
        """Record a human's answer; True for exactly one of any number of concurrent calls."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    position,
                    response.responded_by,
                    response.responded_us,
                    response.channel,
                    orjson.dumps(dict(response.input)).decode(),
                ),
            )
            return cursor.rowcount == 1

    def replace_input(self, run_id: str, position: int, payload: Mapping[str, Any]) -> bool:
        """Overwrite the input of a recorded answer (the last writer wins); False if none."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE responses SET input = ? WHERE run_id = ? AND position = ?",
                (orjson.dumps(dict(payload)).decode(), run_id, position),
            )
            return cursor.rowcount == 1

    def record_cancel(self, run_id: str, cancelled_us: int) -> bool:
        """Record a cancel; True only for the first."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO cancels VALUES (?, ?)", (run_id, cancelled_us)
            )
            return cursor.rowcount == 1

    def anchor(self, run_id: str, world_us: int, real_us: int) -> Anchor:
        """Thaw a static run at (world_us, real_us); the first anchor of a run wins."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO anchors VALUES (?, ?, ?)", (run_id, world_us, real_us)
            )
            row = db.execute(
                "SELECT world_us, real_us FROM anchors WHERE run_id = ?", (run_id,)
            ).fetchone()
        return Anchor(int(row[0]), int(row[1]))

    def get_anchor(self, run_id: str) -> Anchor | None:
        """The anchor of a thawed static run, or None while it is frozen."""
        row = (
            self._db()
            .execute("SELECT world_us, real_us FROM anchors WHERE run_id = ?", (run_id,))
            .fetchone()
        )
        return Anchor(int(row[0]), int(row[1])) if row else None

    def claim(self, key: str, at_us: int) -> bool:
        """Record ``key`` (about moment ``at_us``) once; True for exactly one caller across
        every process, until ``prune`` forgets claims older than its cut-off."""
        with self._write() as db:
            cursor = db.execute("INSERT OR IGNORE INTO claims VALUES (?, ?)", (key, at_us))
            return cursor.rowcount == 1

    def prune(self, cutoff_us: int, keep: int) -> int:
        """Delete runs started before ``cutoff_us`` and all but the newest ``keep`` per API
        (with their events); anchors of static runs thawed, and claims made, before
        ``cutoff_us`` go too."""
        with self._write() as db:
            doomed = [
                row[0]
                for row in db.execute(
                    "SELECT run_id FROM runs WHERE started_us < ?"
                    " UNION SELECT run_id FROM ("
                    "   SELECT run_id, ROW_NUMBER() OVER ("
                    "     PARTITION BY api ORDER BY started_us DESC, seq DESC) AS newest"
                    "   FROM runs) WHERE newest > ?",
                    (cutoff_us, keep),
                )
            ]
            for table in ("runs", "responses", "cancels"):
                db.executemany(
                    f"DELETE FROM {table} WHERE run_id = ?",  # table names are constants
                    [(run_id,) for run_id in doomed],
                )
            thawed = [
                row[0]
                for row in db.execute("SELECT run_id FROM anchors WHERE real_us < ?", (cutoff_us,))
            ]
            for table in ("anchors", "responses", "cancels"):
                db.executemany(
                    f"DELETE FROM {table} WHERE run_id = ?",  # table names are constants
                    [(run_id,) for run_id in thawed],
                )
            db.execute("DELETE FROM claims WHERE at_us < ?", (cutoff_us,))
        return len(doomed)


def _run(row: tuple[Any, ...]) -> LiveRun:
    seq, run_id, api, workflow_id, started_us, spec = row
    return LiveRun(
        int(seq), str(run_id), str(api), str(workflow_id), int(started_us), orjson.loads(spec)
    )
