"""Live runs: runs started over HTTP and client actions on runs, shared by all workers.

See ``_store.py`` (the protocol and the SQLite store), ``_redis_store.py`` (the Redis store for
several hosts), ``_open.py`` (which one a configuration names), ``_expiry.py`` (the expiry rule),
``_scenarios.py`` (named workflows a caller picks) and ``_auto.py`` (runs the mock starts by
itself). Vendors rebuild a
live run's plan from its stored facts and observe it at the clock, with the stored events.
"""

from __future__ import annotations

from mock_server.live._auto import AUTO_SCENARIOS, AutoRuns
from mock_server.live._expiry import PRUNE_EVERY, Expiry, expiry_of, start_live_run
from mock_server.live._open import describe as describe_store
from mock_server.live._open import open_store
from mock_server.live._outage import note_outage
from mock_server.live._redis_store import RedisStore, is_redis_url
from mock_server.live._scenarios import (
    HEADER as SCENARIO_HEADER,
)
from mock_server.live._scenarios import (
    INPUT_FIELD as SCENARIO_FIELD,
)
from mock_server.live._scenarios import (
    Scenario,
    ScenarioError,
    UnknownScenario,
    requested_scenario,
    scenario,
    scenarios,
)
from mock_server.live._store import (
    STORE_UNAVAILABLE,
    Anchor,
    LiveRun,
    LiveStore,
    SqliteStore,
    StoreUnavailable,
    temporary_store_path,
)

__all__ = [
    "AUTO_SCENARIOS",
    "PRUNE_EVERY",
    "SCENARIO_FIELD",
    "SCENARIO_HEADER",
    "STORE_UNAVAILABLE",
    "Anchor",
    "AutoRuns",
    "Expiry",
    "LiveRun",
    "LiveStore",
    "RedisStore",
    "Scenario",
    "ScenarioError",
    "SqliteStore",
    "StoreUnavailable",
    "UnknownScenario",
    "describe_store",
    "expiry_of",
    "is_redis_url",
    "note_outage",
    "open_store",
    "requested_scenario",
    "scenario",
    "scenarios",
    "start_live_run",
    "temporary_store_path",
]
