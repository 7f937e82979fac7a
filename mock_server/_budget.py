"""Caches bounded by what their entries cost, not by how many there are.

An entry-count bound (``functools.lru_cache(maxsize=...)``) lets a cache's memory follow the size
of what it holds: 1,024 plans of a 10,000-step execution are not 1,024 plans of 5 steps, and a
world of 10^6 runs fills every cache that a world of 10^2 runs never does. ``CostLru`` memoises a
function in an LRU whose entries each cost ``cost(value)`` units (bytes of a body, steps of a
plan) and evicts the least recently used entries while the total exceeds ``max_cost``. A value
costing more than ``max_cost`` on its own is kept apart, in one *oversize slot* that holds only
the latest such value: the pages of one 10,000-step execution are served from one plan, and the
cache never holds more than its budget plus one oversize value. Each process's caches
thus stay within a fixed budget whatever the world's size or the traffic (benchmarks/README.md,
"Memory"). As with ``lru_cache``, a hit returns the very object stored: values must not be
changed by callers (a Kibana ``RunView`` only fills in its own rendered steps, once).

Thread-safe (gunicorn ``gthread`` workers serve several requests at once): the table is only
touched under a lock, and the function runs outside it (two threads missing the same key at once
both compute it; the values are equal, the world being a pure function of its seed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

V = TypeVar("V")
Body = TypeVar("Body", bound=bytes | None)
"""A rendered body, or None where the entity is unknown."""

STEP_COST = 1
"""A plan or a timeline costs one unit per step, plus ``ENTRY_STEPS`` for the entry itself."""
ENTRY_STEPS = 4
"""What an entry costs on top of its steps (key, run header, links), in steps."""


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What a ``CostLru`` holds and how it fared (``hits``/``misses`` since it was made)."""

    hits: int
    misses: int
    currsize: int
    """Entries held."""
    cost: int
    """Total cost of the entries held (never above ``max_cost``)."""
    max_cost: int


class CostLru(Generic[V]):
    """``function`` memoised in an LRU bounded by the total ``cost`` of its values."""

    __slots__ = (
        "_cost", "_function", "_lock", "_oversize", "_table", "cost", "hits", "max_cost", "misses"
    )  # fmt: skip

    def __init__(self, function: Callable[..., V], max_cost: int, cost: Callable[[V], int]):
        if max_cost < 0:
            raise ValueError("max_cost must not be negative")
        self._function = function
        self._cost = cost
        self.max_cost = max_cost
        self._table: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._oversize: tuple[Hashable, V] | None = None
        self._lock = threading.Lock()
        self.cost = 0
        self.hits = 0
        self.misses = 0

    def __call__(self, *args: Hashable) -> V:
        with self._lock:
            found = self._table.get(args)
            if found is not None:
                self._table.move_to_end(args)
                self.hits += 1
                return found[0]
            if self._oversize is not None and self._oversize[0] == args:
                self.hits += 1
                return self._oversize[1]
            self.misses += 1
        value = self._function(*args)
        cost = self._cost(value)
        if cost > self.max_cost:
            with self._lock:
                self._oversize = (args, value)
            return value
        with self._lock:
            old = self._table.pop(args, None)
            if old is not None:  # another thread stored it meanwhile
                self.cost -= old[1]
            self._table[args] = (value, cost)
            self.cost += cost
            while self.cost > self.max_cost:
                _, (_, freed) = self._table.popitem(last=False)
                self.cost -= freed
        return value

    def cache_info(self) -> CacheInfo:
        """Hits, misses, entries and cost (as ``functools.lru_cache`` offers, plus the cost)."""
        with self._lock:
            return CacheInfo(self.hits, self.misses, len(self._table), self.cost, self.max_cost)

    def cache_clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._table.clear()
            self._oversize = None
            self.cost = 0


def steps_cost(steps: int) -> int:
    """The cost of an entry holding ``steps`` steps."""
    return ENTRY_STEPS + STEP_COST * steps


def compact(body: bytes) -> bytes:
    """``body`` in an allocation of its own length, for a cache to keep.

    orjson returns its output in the buffer it grew while writing, without shrinking it: a
    800-byte answer holds 8 KiB, a 5 KB one 64 KiB (orjson 3.13; tracemalloc and RSS agree).
    A cache of such bodies costs ten times what their lengths say, so every cache that keeps
    bodies keeps a copy made here (a memcpy, ~0.1 µs per KB).
    """
    return bytes(memoryview(body))


def bytes_cost(body: bytes | None) -> int:
    """The cost of a cached body: its length plus a small per-entry overhead (None: 0 bytes)."""
    return 128 + (0 if body is None else len(body))


def body_cache(render: Callable[..., Body], max_bytes: int) -> CostLru[Body]:
    """``render`` memoised under ``max_bytes`` of bodies, each kept as a ``compact`` copy
    (None, an unknown entity, is kept as is)."""

    def rendered(*args: Hashable) -> Body:
        body = render(*args)
        return cast(Body, None if body is None else compact(body))

    return CostLru(rendered, max_bytes, bytes_cost)


PLAN_STEPS = 1024
"""Steps of run plans kept per cache: a couple of hundred of the usual runs (about 500 bytes per
step with its content: ~0.5 MiB per cache). Measured hit rates under cold traffic are low (~1 %:
a cold request rarely names a run a recent one named), so a large budget buys nothing; the plan
caches serve repeated requests the response cache cannot answer (a running execution's step)
and the several lookups of one request. A bigger run (the bulk 10,000-step one) sits in each
cache's single oversize slot, so paging through it does not re-plan it on every page."""
CACHE_BYTES = 2 * 1024 * 1024
"""Bytes of rendered bodies (with their per-entry overhead) kept per worker process, shared out
between every cache that keeps bodies: Trigify's body caches (``BODY_BYTES`` for each of its two
page caches, a quarter of it for each of its two single-object caches) and the app's response
cache (``RESPONSE_BYTES``, the rest). A world of 10^2 runs has ~500 distinct answers and never
fills them; a world of 10^6 runs does, so their total is most of what world size may cost a
worker (benchmarks/README.md, "Memory": ≤ 1.1x a worker of ~50 MiB)."""
BODY_BYTES = CACHE_BYTES // 8
"""Bytes of rendered pages kept per Trigify page cache (a page of 100 is ~100 KB). The response
cache replays Trigify's answers with fresh rate-limit headers; these caches serve the requests it
cannot (another ``Origin``, ``Prefer``) and the renders of answers it does not keep."""
RESPONSE_BYTES = CACHE_BYTES - 2 * BODY_BYTES - 2 * (BODY_BYTES // 4)
"""Bytes of answers the app's response cache keeps (``mock_server._http.MAX_CACHE_BYTES``)."""
WORKFLOW_CACHE = 128
"""Entries of a vendor world's workflow caches (workflow objects, states, ids): a workflow is a
few KB, and only lists of every workflow touch more than a few hundred of them."""
