"""``LiveStore`` on Redis, so that several mock hosts (replicas behind a load balancer) share one
live world: runs, human answers, cancels, thawed seeded runs, auto-run claims.

Semantics are SQLite's (``SqliteStore``), operation by operation, and the store contract tests
(``tests/mock_server/test_live_store_contract.py``) run one suite against both:

- **Atomic writes.** Every write is one atomic step on the server: a ``MULTI``/``EXEC``
  transaction or a Lua script (Redis runs a script as one command). A replica killed mid-request
  leaves nothing or the whole write, never half a run. ``create_run`` first draws its sequence
  number (``INCR``; a number drawn by a replica that dies is skipped, as SQLite's AUTOINCREMENT
  skips a rolled-back insert), then stores the run, its place in the API's and the workflow's
  sorted sets and the API's name in one transaction.
- **Exactly once.** ``record_response`` is ``HSETNX`` (one answer per wait and position; who
  and when in field ``<position>``, the input beside it in ``<position>:input``, both set by one
  script), ``record_cancel`` and ``claim`` are ``SET NX``, ``anchor`` is ``SET NX`` then ``GET``
  in one script: of any number of concurrent callers on any host exactly one wins.
  ``replace_input`` overwrites the input of a recorded answer (last writer wins; False when there
  is none), as ``SqliteStore`` does where Kibana's resume semantics need it.
- **Expiry.** Every key gets a Redis TTL of ``ttl_s`` (``--run-ttl``), so an abandoned world
  empties itself; ``prune`` (called by ``_expiry`` as with SQLite) applies the exact rule in one
  script: runs started before the cut-off and all but the newest ``keep`` (``--max-live-runs``)
  of each API's sorted set (score: start time; ties by the zero-padded sequence number in the
  member, as SQLite orders by ``started_us, seq``) go with their events, and so do anchors and
  claims older than the cut-off.
- **Namespaces.** Keys are ``<prefix>:<seed>:...`` (``--store-prefix``, default ``stepspec``),
  and the per-API sets add the API's name: several worlds (seeds, or unrelated teams with their
  own prefix) share one Redis without seeing each other.
- **Faults.** Connection losses and timeouts raise ``StoreUnavailable`` (the app answers 503 in
  the vendor's envelope); nothing is cached across calls, so service resumes with the first call
  after Redis returns (redis-py's pool replaces a pooled connection that Redis closed before
  handing it out). Commands are never retried: a write whose reply was lost may have been
  applied, and sending it again could tell its own sender that someone else won.
- **Fork rule.** ``__init__`` checks that Redis answers, then closes its connection: gunicorn's
  master builds the store, and each worker opens its own connections (redis-py's pool also
  starts afresh in a forked child).

Key layout (``ns`` = ``<prefix>:<seed>``): ``ns:seq`` (counter), ``ns:run:<id>`` (hash of the
run's facts), ``ns:<api>:runs`` and ``ns:<api>:wf:<workflow>`` (sorted sets), ``ns:apis`` (set),
``ns:responses:<id>`` (hash: position -> answer), ``ns:cancel:<id>``, ``ns:anchor:<id>`` and
``ns:anchors`` (sorted set by real time), ``ns:claim:<key>`` and ``ns:claims``. The Trigify rate
limit (``ns:trigify:ratelimit:...``) and coverage (``ns:coverage:...``) live beside them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from mock_server._timeline import HitlResponse, RunEvents
from mock_server.live._store import Anchor, LiveRun, StoreUnavailable

SCHEMES = ("redis", "rediss")
DEFAULT_PREFIX = "stepspec"
CONNECT_TIMEOUT_S = 2.0
"""How long to wait for a TCP (and TLS) connection before answering 503."""
COMMAND_TIMEOUT_S = 5.0
"""How long to wait for one command's reply before answering 503."""
_SEP = "\x1f"
"""Separates the parts of a sorted-set member (run ids and workflow ids never contain it)."""
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,  # also BusyLoadingError, AuthenticationError
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
)

# ARGV: ns, cutoff_us, keep. Members of ns:<api>:runs are "<seq>\x1f<run id>\x1f<workflow id>".
_PRUNE = """
local ns, cutoff, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
local sep = "\\31"
local deleted = 0
local function forget(run_id)
  redis.call('DEL', ns .. ':responses:' .. run_id, ns .. ':cancel:' .. run_id)
end
for _, api in ipairs(redis.call('SMEMBERS', ns .. ':apis')) do
  local index = ns .. ':' .. api .. ':runs'
  local doomed = {}
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. cutoff)) do
    doomed[member] = true
  end
  local count = redis.call('ZCARD', index)
  if count > keep then
    for _, member in ipairs(redis.call('ZRANGE', index, 0, count - keep - 1)) do
      doomed[member] = true
    end
  end
  for member in pairs(doomed) do
    local first = string.find(member, sep, 1, true)
    local second = string.find(member, sep, first + 1, true)
    local seq = string.sub(member, 1, first - 1)
    local run_id = string.sub(member, first + 1, second - 1)
    local workflow = string.sub(member, second + 1)
    redis.call('ZREM', index, member)
    redis.call('ZREM', ns .. ':' .. api .. ':wf:' .. workflow, seq .. sep .. run_id)
    redis.call('DEL', ns .. ':run:' .. run_id)
    forget(run_id)
    deleted = deleted + 1
  end
end
local anchors = ns .. ':anchors'
for _, run_id in ipairs(redis.call('ZRANGEBYSCORE', anchors, '-inf', '(' .. cutoff)) do
  redis.call('DEL', ns .. ':anchor:' .. run_id)
  forget(run_id)
end
redis.call('ZREMRANGEBYSCORE', anchors, '-inf', '(' .. cutoff)
local claims = ns .. ':claims'
for _, key in ipairs(redis.call('ZRANGEBYSCORE', claims, '-inf', '(' .. cutoff)) do
  redis.call('DEL', ns .. ':claim:' .. key)
end
redis.call('ZREMRANGEBYSCORE', claims, '-inf', '(' .. cutoff)
return deleted
"""

# KEYS: the value's key, the sorted set; ARGV: value, score, member, ttl_ms.
# Returns {1 if this call set the value, the value now stored}.
_SET_ONCE = """
local set = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[4])
if set then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return {1, ARGV[1]}
end
return {0, redis.call('GET', KEYS[1])}
"""

# KEYS[1]: the run's responses hash; ARGV: position, [by, at, channel] JSON, input JSON, ttl_ms.
_ANSWER_ONCE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1] .. ':input', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS[1]: the run's responses hash; ARGV: position, input JSON.
_REPLACE_INPUT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1] .. ':input', ARGV[2])
return 1
"""


def is_redis_url(location: str | None) -> bool:
    """Whether ``--store`` names a Redis server rather than a SQLite file."""
    return bool(location) and urlsplit(str(location)).scheme in SCHEMES


def redacted(url: str) -> str:
    """``url`` without its password (for banners, logs and error messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str) -> redis.Redis:
    """A redis-py client for ``url`` with the mock's timeouts and retry rule (no I/O yet)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),  # never resend a command (see the module docstring)
        health_check_interval=0,
    )


@contextmanager
def guarded(url: str) -> Iterator[None]:
    """Turn Redis connection losses and timeouts into ``StoreUnavailable``."""
    try:
        yield
    except _UNAVAILABLE as error:
        raise StoreUnavailable(f"{redacted(url)}: {_one_line(error)}") from None


class RedisStore:
    """``LiveStore`` on one Redis database (see the module docstring)."""

    def __init__(self, url: str, *, seed: int, prefix: str = DEFAULT_PREFIX, ttl_s: float) -> None:
        self.url = url
        self.path = redacted(url)
        """What the banner and logs show (never the password)."""
        self.namespace = f"{prefix}:{seed}"
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.redis = connect(url)
        self._prune = self.redis.register_script(_PRUNE)
        self._set_once = self.redis.register_script(_SET_ONCE)
        self._answer_once = self.redis.register_script(_ANSWER_ONCE)
        self._replace_input = self.redis.register_script(_REPLACE_INPUT)
        try:
            self.redis.ping()
        except redis.exceptions.RedisError as error:  # refused, auth, TLS, no such database ...
            raise StoreUnavailable(f"{self.path}: {_one_line(error)}") from None
        finally:
            self.close()  # never let a connection of the gunicorn master reach a worker

    def guard(self) -> Any:
        """A context manager: Redis faults inside it raise ``StoreUnavailable``."""
        return guarded(self.url)

    def key(self, *parts: object) -> str:
        """A key of this world's namespace: ``<prefix>:<seed>:<part>:<part>...``."""
        return ":".join((self.namespace, *(str(part) for part in parts)))

    def close(self) -> None:
        """Close the pooled connections of this process (the next call reconnects)."""
        self.redis.connection_pool.disconnect()

    def create_run(
        self, api: str, workflow_id: str, started_us: int, spec: Mapping[str, Any], id_for: Any
    ) -> LiveRun:
        """Store a new run; ``id_for(seq)`` names it from its sequence number."""
        blob = orjson.dumps(dict(spec))
        with self.guard():
            seq = int(self.redis.incr(self.key("seq")))
            run_id = str(id_for(seq))
            ordered = f"{seq:020d}{_SEP}{run_id}"
            run_key = self.key("run", run_id)
            with self.redis.pipeline(transaction=True) as tx:
                tx.hset(
                    run_key,
                    mapping={
                        "seq": seq,
                        "api": api,
                        "workflow_id": workflow_id,
                        "started_us": started_us,
                        "spec": blob,
                    },
                )
                tx.pexpire(run_key, self.ttl_ms)
                tx.zadd(self.key(api, "runs"), {f"{ordered}{_SEP}{workflow_id}": started_us})
                tx.zadd(self.key(api, "wf", workflow_id), {ordered: started_us})
                tx.sadd(self.key("apis"), api)
                tx.execute()
        return LiveRun(seq, run_id, api, workflow_id, started_us, dict(spec))

    def get_run(self, run_id: str) -> LiveRun | None:
        """The stored run, or None."""
        with self.guard():
            fields: Mapping[Any, Any] = self.redis.hgetall(self.key("run", run_id))
        return _run(run_id, fields) if fields else None

    def runs_for_workflow(self, api: str, workflow_id: str) -> list[LiveRun]:
        """Every stored run of one workflow, newest first."""
        with self.guard():
            members: list[Any] = self.redis.zrevrange(self.key(api, "wf", workflow_id), 0, -1)
            if not members:
                return []
            ids = [_text(member).split(_SEP, 1)[1] for member in members]
            with self.redis.pipeline(transaction=False) as batch:
                for run_id in ids:
                    batch.hgetall(self.key("run", run_id))
                found = batch.execute()
        # A run whose key expired (TTL) before ``prune`` removed it from the set is skipped.
        return [_run(run_id, fields) for run_id, fields in zip(ids, found, strict=True) if fields]

    def events(self, run_id: str) -> RunEvents:
        """Client events of one run (answers by plan position, cancel time)."""
        with self.guard(), self.redis.pipeline(transaction=True) as tx:
            tx.hgetall(self.key("responses", run_id))
            tx.get(self.key("cancel", run_id))
            answers, cancel = tx.execute()
        responses = {}
        for field, blob in answers.items():
            name = _text(field)
            if name.isdigit():  # "<position>" holds who and when; "<position>:input" the input
                by, at, channel = orjson.loads(blob)
                payload = orjson.loads(answers[f"{name}:input".encode()])
                responses[int(name)] = HitlResponse(by, int(at), channel, payload)
        return RunEvents(responses=responses, cancelled_us=int(cancel) if cancel else None)

    def record_response(self, run_id: str, position: int, response: HitlResponse) -> bool:
        """Record a human's answer; True for exactly one of any number of concurrent calls."""
        head = orjson.dumps([response.responded_by, response.responded_us, response.channel])
        with self.guard():
            won = self._answer_once(
                keys=[self.key("responses", run_id)],
                args=[position, head, orjson.dumps(dict(response.input)), self.ttl_ms],
            )
        return bool(won)

    def replace_input(self, run_id: str, position: int, payload: Mapping[str, Any]) -> bool:
        """Overwrite the input of a recorded answer (the last writer wins); False if none."""
        with self.guard():
            replaced = self._replace_input(
                keys=[self.key("responses", run_id)],
                args=[position, orjson.dumps(dict(payload))],
            )
        return bool(replaced)

    def record_cancel(self, run_id: str, cancelled_us: int) -> bool:
        """Record a cancel; True only for the first."""
        with self.guard():
            stored = self.redis.set(
                self.key("cancel", run_id), cancelled_us, nx=True, px=self.ttl_ms
            )
        return bool(stored)

    def anchor(self, run_id: str, world_us: int, real_us: int) -> Anchor:
        """Thaw a static run at (world_us, real_us); the first anchor of a run wins."""
        with self.guard():
            _, value = self._set_once(
                keys=[self.key("anchor", run_id), self.key("anchors")],
                args=[f"{world_us}:{real_us}", real_us, run_id, self.ttl_ms],
            )
        return _anchor(value)

    def get_anchor(self, run_id: str) -> Anchor | None:
        """The anchor of a thawed static run, or None while it is frozen."""
        with self.guard():
            value = self.redis.get(self.key("anchor", run_id))
        return _anchor(value) if value else None

    def claim(self, key: str, at_us: int) -> bool:
        """Record ``key`` (about moment ``at_us``) once; True for exactly one caller across
        every process and host, until ``prune`` (or the TTL) forgets it."""
        with self.guard():
            won, _ = self._set_once(
                keys=[self.key("claim", key), self.key("claims")],
                args=[at_us, at_us, key, self.ttl_ms],
            )
        return bool(won)

    def prune(self, cutoff_us: int, keep: int) -> int:
        """Delete runs started before ``cutoff_us`` and all but the newest ``keep`` per API
        (with their events); anchors of static runs thawed, and claims made, before
        ``cutoff_us`` go too. One script: atomic."""
        with self.guard():
            return int(self._prune(args=[self.namespace, int(cutoff_us), int(keep)]))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _run(run_id: str, fields: Mapping[Any, Any]) -> LiveRun:
    return LiveRun(
        int(fields[b"seq"]),
        run_id,
        fields[b"api"].decode(),
        fields[b"workflow_id"].decode(),
        int(fields[b"started_us"]),
        orjson.loads(fields[b"spec"]),
    )


def _anchor(value: bytes | str) -> Anchor:
    world_us, real_us = _text(value).split(":")
    return Anchor(int(world_us), int(real_us))
