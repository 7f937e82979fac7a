"""Coverage facts in Redis, so that the report of any replica aggregates every replica.

With a Redis live-run store (``--store redis://...``) coverage keeps its facts here instead
of a SQLite file beside the store: one hash per client (``<ns>:coverage:<client>``; field: the
fact's JSON ``[api, kind, operation, status, detail]``; value: ``count first_us last_us``) and
the set of clients (``<ns>:coverage:clients``). ``add`` merges a batch in one Lua script (counts
add up, the first time stays, the last takes the max: as the SQLite upsert), so concurrent
flushes of many processes on many hosts never lose a count. Rows come back in the order and
shape of the SQLite table's ``SELECT *``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from mock_server.coverage._facts import Fact
from mock_server.live import RedisStore

# KEYS[1]: the clients set. ARGV: prefix, then (client, field, count, first, last) per row.
_ADD = """
local prefix = ARGV[1]
for i = 2, #ARGV, 5 do
  local client, field = ARGV[i], ARGV[i + 1]
  local count, first, last = tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4]
  local key = prefix .. client
  local old = redis.call('HGET', key, field)
  if old then
    local c, f, l = string.match(old, '^(%d+) (%d+) (%d+)$')
    count = count + tonumber(c)
    first = f
    if #l > #last or (#l == #last and l > last) then last = l end
  end
  redis.call('HSET', key, field, string.format('%d', count) .. ' ' .. first .. ' ' .. last)
  redis.call('SADD', KEYS[1], client)
end
return 1
"""


class RedisCoverageStore:
    """``_coverage.CoverageStore``'s interface on the Redis of a ``RedisStore``."""

    def __init__(self, store: RedisStore) -> None:
        self.live = store
        self.path = store.path + " (coverage)"
        self.prefix = store.key("coverage", "client") + ":"
        self.clients = store.key("coverage", "clients")
        self._add = store.redis.register_script(_ADD)

    def add(self, rows: Iterable[tuple[Fact, int, int, int]]) -> None:
        """Add (fact, count, first_us, last_us) rows in one atomic step."""
        args: list[Any] = [self.prefix]
        for (client, api, kind, operation, status, detail), count, first, last in rows:
            field = orjson.dumps([api, kind, operation, status, detail])
            args += [client, field, int(count), int(first), int(last)]
        if len(args) > 1:
            with self.live.guard():
                self._add(keys=[self.clients], args=args)

    def rows(self, client: str | None = None) -> list[tuple[Any, ...]]:
        """Every stored row (of one client), ordered as ``ORDER BY 1, 2, 3, 4, 5, 6``."""
        with self.live.guard():
            if client is None:
                clients = sorted(_text(name) for name in self.live.redis.smembers(self.clients))
            else:
                clients = [client]
            with self.live.redis.pipeline(transaction=True) as tx:
                for name in clients:
                    tx.hgetall(self.prefix + name)
                stored = tx.execute()
        found = []
        for name, facts in zip(clients, stored, strict=True):
            for field, value in facts.items():
                api, kind, operation, status, detail = orjson.loads(field)
                count, first, last = (int(part) for part in _text(value).split())
                found.append((name, api, kind, operation, status, detail, count, first, last))
        found.sort(key=lambda row: row[:6])
        return found

    def clear(self, client: str | None = None) -> None:
        """Forget everything (or one client)."""
        with self.live.guard():
            if client is not None:
                with self.live.redis.pipeline(transaction=True) as tx:
                    tx.delete(self.prefix + client)
                    tx.srem(self.clients, client)
                    tx.execute()
                return
            names = [_text(name) for name in self.live.redis.smembers(self.clients)]
            self.live.redis.delete(self.clients, *(self.prefix + name for name in names))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
