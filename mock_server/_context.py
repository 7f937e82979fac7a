"""What every vendor module is handed: configuration, clock, vocabulary and the live-run store.

``create_app`` builds one ``MockContext`` and passes it to each vendor's ``blueprint``. Nothing
in it is a global: two apps in one process (say, two seeds in one test) never share state.

Time. The seeded (static) world is observed at ``WORLD_NOW_US``, a fixed moment, so its bytes
never change; live runs (started by POST) are observed at ``clock()``, the real clock unless a
test injects its own. ``time_scale`` compresses a live run's plan (``_timeline.compress``), never
the clock, so no timestamp is ever ahead of the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mock_server._config import MockConfig
from mock_server._timeline import RunPlan, compress, parse_iso, scaled_us
from mock_server._vocab import Vocabulary, vocabulary

if TYPE_CHECKING:
    from mock_server.live import LiveStore

WORLD_NOW_US = parse_iso("2025-11-21T09:30:00.000Z")
"""The moment at which the static world is observed (a day after the vendors' doc examples)."""

Clock = Callable[[], int]
"""Returns "now" in integer microseconds since the Unix epoch."""


def system_clock() -> int:
    """The wall clock in microseconds."""
    return time.time_ns() // 1000


@dataclass(frozen=True)
class MockContext:
    """Shared, read-only inputs of every vendor module of one app."""

    config: MockConfig
    store: LiveStore
    """Live runs (POST run/execute), shared by all worker processes."""
    clock: Clock = system_clock
    world_now_us: int = WORLD_NOW_US
    vocab: Vocabulary = field(default_factory=vocabulary)
    state_path: str | None = None
    """The live-run store's file, beside which other shared SQLite files live (the enforced rate
    limit's); None (or ``:memory:``) keeps those counts per process."""

    @property
    def seed(self) -> int:
        """The world seed."""
        return self.config.seed

    def live_now_us(self, started_us: int) -> int:
        """The moment at which a live run that started at ``started_us`` is observed: the
        clock (``time_scale`` shortens the run's plan instead, see ``live_plan``)."""
        return self.clock()

    def live_plan(self, plan: RunPlan) -> RunPlan:
        """A live run's plan played ``time_scale`` times as fast (``_timeline.compress``)."""
        return compress(plan, self.config.time_scale)

    def live_span_us(self, us: int) -> int:
        """A span of a live run's plan at ``time_scale`` (for vendors that plan with spans)."""
        return scaled_us(us, self.config.time_scale)
