"""Fast ISO 8601 timestamps with milliseconds (``2026-03-27T10:15:00.100Z``) for Trigify.

Same output as ``mock_server._timeline.iso_millis``, at a quarter of the cost: the date part is
memoised per day and the time of day is integer arithmetic. Durations are computed from the
millisecond values these timestamps show (``millis``), so a client recomputing them agrees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000


@lru_cache(maxsize=4096)
def _date(days: int) -> str:
    return f"{_EPOCH + timedelta(days=days):%Y-%m-%d}"


def millis(us: int) -> int:
    """The millisecond a microsecond instant falls in (what the rendered timestamp shows)."""
    return us // 1000


def iso_millis(us: int) -> str:
    """``2026-03-27T10:15:00.100Z``."""
    days, rest = divmod(us // 1000, _DAY_MS)
    seconds, ms = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_date(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}Z"
