"""Runs the mock starts by itself, so that a seeded world always has runs that move.

With ``auto_runs`` = N > 0, every minute of the clock (a *bucket*: ``clock // PERIOD_US``) has N
slots per API; slot ``k`` is due at ``bucket * PERIOD_US + k * PERIOD_US // N``. The first
request an API receives after a slot is due starts that slot's run, dated at the slot's moment;
which workflow and scenario it gets is drawn from ``(seed, api, bucket, k)``, so every worker
(and every restart) agrees. A slot is claimed in the shared store (a primary key) before its run
is stored, so across all workers exactly one run is started per slot; slots of a minute in which
the API saw no request at all are skipped (an idle mock does not pile up runs). Auto runs are
ordinary live runs: they appear in every list, can be resumed or cancelled, and expire by the
same rule (``_expiry``).

While a networked store is unavailable, ``tick`` starts nothing and asks again only after
``RETRY_S`` (reads of the seeded world go on being answered, without waiting on the store); the
slots still due are started by the first request after it returns. (A slot claimed just before
the store went away, whose run could not be stored, stays empty: never started twice.)

Scenarios of auto runs (``AUTO_SCENARIOS``) end by themselves (no open-ended wait), so auto runs
never accumulate as waiting forever. Besides them, the frozen world keeps its newest runs in
non-terminal states (running, waiting_for_input, ...), so something is always in progress.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mock_server._rng import rng_for
from mock_server.live._outage import note_outage
from mock_server.live._scenarios import Scenario, scenario
from mock_server.live._store import StoreUnavailable

if TYPE_CHECKING:
    from mock_server._context import MockContext

RETRY_S = 1.0
"""After a store fault, how long ``tick`` leaves the store alone."""
PERIOD_US = 60 * 1_000_000
"""Length of a bucket: N auto runs per API per minute of the clock."""
AUTO_SCENARIOS = ("llm-then-slack", "approval-timeout", "foreach-fanout", "flaky-http")
"""Scenarios auto runs draw from (each ends on its own)."""

StartRun = Callable[[random.Random, int, Scenario], None]
"""Starts one auto run: (its random source, its start time in µs, its scenario)."""


def slot_start_us(bucket: int, slot: int, per_bucket: int) -> int:
    """When slot ``slot`` of minute ``bucket`` is due."""
    return bucket * PERIOD_US + slot * PERIOD_US // per_bucket


class AutoRuns:
    """Starts the due auto runs of one API (call ``tick`` before serving a request)."""

    def __init__(self, ctx: MockContext, api: str, start: StartRun) -> None:
        self.ctx = ctx
        self.api = api
        self.per_bucket = ctx.config.auto_runs
        self._start = start
        self._lock = threading.Lock()
        self._done: tuple[int, int] = (-1, 0)
        """(bucket, slots of it already handled by this process)."""
        self._retry_at = 0.0
        """``time.monotonic()`` before which the store is not asked (after a fault)."""

    def tick(self) -> int:
        """Start the runs due now that no worker started yet; returns how many this call did."""
        if self.per_bucket == 0:
            return 0
        now = self.ctx.clock()
        bucket = now // PERIOD_US
        due = sum(
            1 for k in range(self.per_bucket) if slot_start_us(bucket, k, self.per_bucket) <= now
        )
        if self._done == (bucket, due):
            return 0  # the common case: one comparison, no store access
        if self._retry_at and time.monotonic() < self._retry_at:
            return 0
        started = 0
        with self._lock:
            handled = self._done[1] if self._done[0] == bucket else 0
            for slot in range(handled, due):
                key = f"auto:{self.api}:{self.ctx.seed}:{bucket}:{slot}"
                try:
                    if self.ctx.store.claim(key, now):
                        rng = rng_for(self.ctx.seed, self.api, "auto-run", bucket, slot)
                        chosen = scenario(AUTO_SCENARIOS[rng.randrange(len(AUTO_SCENARIOS))])
                        self._start(rng, slot_start_us(bucket, slot, self.per_bucket), chosen)
                        started += 1
                except StoreUnavailable as error:  # try this slot again on a later request
                    note_outage(error)
                    self._done, self._retry_at = (bucket, slot), time.monotonic() + RETRY_S
                    return started
            self._done = (bucket, due)
        return started
