"""The list query parameters Kibana reads as searches: date-math bounds, collapse, sort, paging.

Kibana hands these to Elasticsearch, so the mock answers them the way a search would:

- ``startedAfter``/``startedBefore``/``finishedAfter``/``finishedBefore`` are date math
  (``now-1d``, ``now/d``, ``2025-11-20||+1M``), an ISO 8601 date or epoch milliseconds; a lower
  bound is inclusive, an upper bound inclusive and rounded up (``now/d`` is the end of today). An
  item without the field never matches a bound on it. Text that is none of these is a 400 with
  Elasticsearch's ``failed to parse date field`` message.
- ``sortField`` (``createdAt`` | ``finishedAt``) and ``sortOrder`` (default ``desc``): items
  without the field come last whatever the order (Elasticsearch's ``missing: _last``).
- ``collapse`` keeps the first item of each value of a field, in sort order; items without the
  field form one group. ``total`` still counts every matching item (``track_total_hits``).
- ``page``/``size`` are ``schema.number``: a fraction is accepted, and Elasticsearch truncates
  ``from`` and ``size`` to whole numbers.

Sources: ``get_workflow_executions.ts``, ``get_workflow_step_executions.ts`` and
``search_workflow_executions.ts`` in ``elastic/kibana`` (``workflows_management/server``).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mock_server._timeline import parse_iso

Json = Any
SEARCH_PARAMS = (
    "concurrencyGroupKey",
    "startedAfter",
    "startedBefore",
    "finishedAfter",
    "finishedBefore",
    "collapse",
    "sortField",
    "sortOrder",
)
"""The execution-list parameters Kibana 9.5 added; any of them switches to the search path."""

_MATH = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_EPOCH_MILLIS = re.compile(r"-?\d{1,15}")
_YEAR = re.compile(r"\d{4}")
PAST_THE_END = 2**63 - 1


class BadQuery(ValueError):
    """A query value Elasticsearch would refuse: the message is its reason (Kibana answers 400)."""


def window(page: float, size: float) -> tuple[int, int]:
    """``[start, stop)`` of a page: Elasticsearch truncates ``from`` and ``size`` to integers.

    An offset too large for a float (``page`` and ``size`` both near ``1e308``) lies past the
    end of every list."""
    offset = (page - 1) * size
    start = int(offset) if math.isfinite(offset) else PAST_THE_END
    return start, start + int(size)


def date_bound(value: Json, now_us: int, *, round_up: bool = False) -> int | None:
    """Microseconds since the epoch for a date-math bound; None when absent. Raises BadQuery."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    anchor, _, math = text.partition("||") if "||" in text else _split_now(text)
    try:
        moment = _anchor(anchor, now_us)
        return _apply_math(moment, math, round_up=round_up)
    except (ValueError, OverflowError):
        raise BadQuery(
            f"failed to parse date field [{text}] with format "
            "[strict_date_optional_time||epoch_millis]"
        ) from None


def _split_now(text: str) -> tuple[str, str, str]:
    if text.startswith("now"):
        return "now", "", text[3:]
    return text, "", ""


def _anchor(text: str, now_us: int) -> datetime:
    if text == "now":
        return datetime.fromtimestamp(now_us / 1_000_000, UTC)
    if _YEAR.fullmatch(text):  # strict_date_optional_time reads a bare year before epoch_millis
        return datetime(int(text), 1, 1, tzinfo=UTC)
    if _EPOCH_MILLIS.fullmatch(text):
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _apply_math(moment: datetime, math: str, *, round_up: bool) -> int:
    position = 0
    while position < len(math):
        step = _MATH.match(math, position)
        if step is None:
            raise ValueError(math)
        sign, amount, unit, rounding = step.groups()
        if rounding is not None:
            moment = _round(moment, rounding, up=round_up)
        else:
            moment = _shift(moment, int(amount) * (1 if sign == "+" else -1), unit)
        position = step.end()
    return parse_iso(moment.isoformat())


def _shift(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in "yM":
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    seconds = {"w": 604_800, "d": 86_400, "h": 3_600, "H": 3_600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=amount * seconds)


def _round(moment: datetime, unit: str, *, up: bool) -> datetime:
    if unit == "y":
        floor = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "M":
        floor = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        floor = day - timedelta(days=day.weekday())
    elif unit == "d":
        floor = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit in "hH":
        floor = moment.replace(minute=0, second=0, microsecond=0)
    elif unit == "m":
        floor = moment.replace(second=0, microsecond=0)
    else:
        floor = moment.replace(microsecond=0)
    if not up:
        return floor
    return _shift(floor, 1, unit) - timedelta(milliseconds=1)


def field_us(item: Mapping[str, Json], field: str) -> int | None:
    """The item's timestamp ``field`` in microseconds, None when absent or null."""
    value = item.get(field)
    return parse_iso(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Bounds:
    """Inclusive ``[after, before]`` bounds on one timestamp field."""

    field: str
    after: int | None
    before: int | None

    def admits(self, item: Mapping[str, Json]) -> bool:
        """Whether ``item`` lies within the bounds (always, when there are none)."""
        if self.after is None and self.before is None:
            return True
        moment = field_us(item, self.field)
        if moment is None:
            return False
        return (self.after is None or moment >= self.after) and (
            self.before is None or moment <= self.before
        )

    @classmethod
    def read(cls, query: Mapping[str, Json], field: str, prefix: str, now_us: int) -> Bounds:
        """``<prefix>After``/``<prefix>Before`` of ``query``. Raises BadQuery."""
        return cls(
            field,
            date_bound(query.get(prefix + "After"), now_us),
            date_bound(query.get(prefix + "Before"), now_us, round_up=True),
        )


@dataclass(frozen=True)
class ExecutionSearch:
    """The 9.5 parameters of ``GET .../workflow/{workflowId}/executions``."""

    concurrency_group_key: str | None
    started: Bounds
    finished: Bounds
    collapse: str | None
    sort_field: str
    descending: bool

    @classmethod
    def read(cls, query: Mapping[str, Json], now_us: int) -> ExecutionSearch | None:
        """None when the query uses none of them (the plain newest-first listing). Raises
        BadQuery."""
        if not any(name in query for name in SEARCH_PARAMS):
            return None
        key = query.get("concurrencyGroupKey")
        return cls(
            concurrency_group_key=None if key is None else str(key),
            started=Bounds.read(query, "startedAt", "started", now_us),
            finished=Bounds.read(query, "finishedAt", "finished", now_us),
            collapse=query.get("collapse"),
            sort_field=str(query.get("sortField") or "createdAt"),
            descending=query.get("sortOrder", "desc") != "asc",
        )

    def admits(self, item: Mapping[str, Json]) -> bool:
        """Whether a list item matches the filters."""
        if (
            self.concurrency_group_key is not None
            and item.get("concurrencyGroupKey") != self.concurrency_group_key
        ):
            return False
        return self.started.admits(item) and self.finished.admits(item)

    def arrange(self, newest_first: Sequence[dict[str, Json]]) -> list[dict[str, Json]]:
        """Sorted and collapsed; ``newest_first`` is the ``createdAt desc`` order."""
        ordered = arrange_by(newest_first, self.sort_field, descending=self.descending)
        return collapse(ordered, self.collapse) if self.collapse else ordered


def arrange_by(
    newest_first: Sequence[dict[str, Json]], sort_field: str, *, descending: bool
) -> list[dict[str, Json]]:
    """``createdAt`` keeps the creation order (reversed for ``asc``); any other timestamp field
    sorts by its value, items without it last."""
    if sort_field == "createdAt":
        return list(newest_first) if descending else list(reversed(newest_first))
    stamped = [(field_us(item, sort_field), item) for item in newest_first]
    present = [pair for pair in stamped if pair[0] is not None]
    present.sort(key=_first, reverse=descending)
    return [item for _, item in present] + [item for stamp, item in stamped if stamp is None]


def _first(pair: tuple[int | None, dict[str, Json]]) -> int:
    return pair[0] or 0


def collapse(items: Sequence[dict[str, Json]], field: str) -> list[dict[str, Json]]:
    """The first item of each distinct value of ``field`` (absent values are one group)."""
    seen: set[str] = set()
    kept = []
    for item in items:
        key = repr(item.get(field))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def listed_values(query: Mapping[str, Json], name: str) -> list[Json] | None:
    """A scalar-or-array parameter as a list; None when absent."""
    value = query.get(name)
    if value is None:
        return None
    return list(value) if isinstance(value, list | tuple) else [value]
