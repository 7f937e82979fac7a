"""Live runs: runs started over HTTP and client actions on runs, shared by all workers.

See ``_store.py``. Vendors rebuild a live run's plan from its stored facts and observe it at the
clock, with the stored events.
"""

from __future__ import annotations

from mock_server.live._store import Anchor, LiveRun, LiveStore, SqliteStore

__all__ = ["Anchor", "LiveRun", "LiveStore", "SqliteStore"]
