"""Trigify's documented rate limit: 100 requests per fixed 60-second window, per API key.

Every response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds until the window ends). Windows are aligned to the clock's minutes; requests without a
key are counted per client IP, as documented. Keys are stored hashed, never in clear.

With ``config.rate_limit`` on, the limit is enforced (429 beyond 100) and the counts must be
shared by all worker processes: they live in a small SQLite table in a file beside the live-run
store (``<store path>-ratelimit``; one upsert per request in WAL mode, ``RETURNING`` the new
count, so concurrent workers never lose a hit). SQLite was chosen over a lock file because it
gives an atomic increment-and-read in one statement and is already how the mock shares live runs.
With a Redis store (several hosts) the counts are Redis keys of the world's namespace
(``INCR`` and ``PEXPIRE`` in one transaction, the key expiring after two windows), so one key's
limit is global across every replica; while Redis is unreachable each process counts alone
(``LocalCounter``) rather than refuse Trigify's seeded world, and goes back to the shared counts
when Redis returns. With the limit off, counts are kept per process in memory (cheap) and only
feed the headers.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mock_server._sqlite import SharedFile
from mock_server.live import RedisStore, StoreUnavailable, note_outage

if TYPE_CHECKING:
    from mock_server._context import MockContext

LIMIT = 100
WINDOW_S = 60
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, window INTEGER NOT NULL, "
    "count INTEGER NOT NULL, PRIMARY KEY (key, window))"
)


@dataclass(frozen=True, slots=True)
class Quota:
    """Where a client stands in the current window after this request."""

    limit: int
    remaining: int
    reset_s: int
    exceeded: bool

    def headers(self) -> dict[str, str]:
        """The documented ``RateLimit-*`` headers."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


class Counter(Protocol):
    """Counts hits per (key, window)."""

    def hit(self, key: str, window: int) -> int:
        """Record one hit and return the count so far in ``window``."""
        ...


class LocalCounter:
    """Per-process counts of the current window only (older windows are dropped)."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        """Record one hit and return the count so far in ``window``."""
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            return count


class SqliteCounter:
    """Counts shared by every process that opens the same file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = SharedFile(path, _SCHEMA)
        self._window = threading.local()
        """The last window this thread of this process saw, as (pid, window)."""

    def hit(self, key: str, window: int) -> int:
        """Record one hit and return the count so far in ``window`` (atomic across processes)."""
        db = self._file.connection()
        row = db.execute(
            "INSERT INTO hits (key, window, count) VALUES (?, ?, 1) "
            "ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
            (key, window),
        ).fetchone()
        seen = (os.getpid(), window)
        if getattr(self._window, "seen", None) != seen:  # a new window here: drop old rows
            self._window.seen = seen
            db.execute("DELETE FROM hits WHERE window < ?", (window - 1,))
        return int(row[0])


class RedisCounter:
    """Counts shared by every process and host that uses the same Redis store."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.fallback = LocalCounter()
        """Used while Redis is unreachable (each process counts alone until it returns)."""

    def hit(self, key: str, window: int) -> int:
        """Record one hit and return the count so far in ``window`` (atomic across hosts)."""
        name = self.store.key("trigify", "ratelimit", window, key)
        try:
            with self.store.guard(), self.store.redis.pipeline(transaction=True) as tx:
                tx.incr(name)
                tx.pexpire(name, 2 * WINDOW_S * 1000)
                count, _ = tx.execute()
        except StoreUnavailable as error:
            note_outage(error, "rate-limit counts unavailable")
            return self.fallback.hit(key, window)
        return int(count)


class RateLimiter:
    """The rate limit of one app."""

    def __init__(self, ctx: MockContext) -> None:
        self._clock = ctx.clock
        self.enforced = ctx.config.rate_limit
        state_path = ctx.state_path
        self.counter: Counter = LocalCounter()
        if self.enforced and isinstance(ctx.store, RedisStore):
            self.counter = RedisCounter(ctx.store)
        elif self.enforced and state_path and state_path != ":memory:":
            self.counter = SqliteCounter(state_path + "-ratelimit")

    def hit(self, api_key: str | None, client_ip: str | None) -> Quota:
        """Count one request of this client and say where it stands."""
        if api_key:
            key = "key:" + hashlib.blake2b(api_key.encode(), digest_size=12).hexdigest()
        else:
            key = f"ip:{client_ip or 'unknown'}"
        now_s = self._clock() // 1_000_000
        window, into = divmod(now_s, WINDOW_S)
        count = self.counter.hit(key, window)
        return Quota(LIMIT, max(0, LIMIT - count), WINDOW_S - into, self.enforced and count > LIMIT)
