"""When live runs expire, so that the store's memory and disk stay bounded.

The rule: a live run (and its events) is deleted once it is older than ``run_ttl`` seconds of
the clock (default 24 h), or once it is not among the newest ``max_live_runs`` runs of its API
(default 10,000). Anchors of thawed static runs older than the TTL go as well (the run falls back
to the frozen world), and so do auto-start claims. Pruning is cheap and deterministic: it runs
inside the request that stores every ``PRUNE_EVERY``-th run (by store-wide sequence number, so
across all workers exactly one request prunes per ``PRUNE_EVERY`` inserts); between two prunes
the store holds at most ``max_live_runs + PRUNE_EVERY`` runs per API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.live._store import LiveRun

if TYPE_CHECKING:
    from mock_server._context import MockContext

PRUNE_EVERY = 100
"""Prune when a run's sequence number is a multiple of this."""


@dataclass(frozen=True)
class Expiry:
    """The expiry rule of one app (see the module docstring)."""

    ttl_us: int
    keep: int
    every: int = PRUNE_EVERY

    def after_insert(self, ctx: MockContext, run: LiveRun) -> int:
        """Prune if ``run`` is the ``every``-th insert; returns how many runs were deleted."""
        if run.seq % self.every:
            return 0
        return ctx.store.prune(ctx.clock() - self.ttl_us, self.keep)


def expiry_of(ctx: MockContext) -> Expiry:
    """The expiry rule configured for ``ctx`` (``run_ttl``, ``max_live_runs``)."""
    return Expiry(int(ctx.config.run_ttl * 1_000_000), ctx.config.max_live_runs)


def start_live_run(
    ctx: MockContext,
    api: str,
    workflow_id: str,
    started_us: int,
    spec: Mapping[str, Any],
    id_for: Callable[[int], str],
) -> LiveRun:
    """Store a new live run, then apply the expiry rule (every vendor starts runs here)."""
    run = ctx.store.create_run(api, workflow_id, started_us, spec, id_for)
    expiry_of(ctx).after_insert(ctx, run)
    return run
