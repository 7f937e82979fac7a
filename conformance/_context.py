"""What a check sees: the target, the ids found by discovery, and a budgeted ``get``.

``Context.get`` is the only way checks talk to the server. It builds the URL from an operation
and its parameters, sends the credential in the vendor's scheme (or none, or a made-up one),
caches identical requests, and enforces the run's bounds:

- at most ``max_requests`` requests per run;
- an operation that timed out is never called again (its cases are reported as not tested);
- after ``STALL_LIMIT`` timeouts the target counts as stalled and nothing more is sent, so a
  server that stalls on every request cannot make a run last much more than a few timeouts;
- a 429 is waited out and asked again, within the vendor's documented window and the run's
  ``--max-rate-limit-wait``; beyond them the target counts as stalled (``_ratelimit``), and no
  check ever sees a 429.

``Context.post`` sends a write (only the lifecycle checks do, and only with ``--allow-writes``).
Requests sent inside ``with ctx.lifecycle_budget():`` are charged to their own pool,
``--max-lifecycle-requests``, instead of ``--max-requests``: polling a run until it ends needs
a number of requests that depends on how long the run takes, and it must not starve the read
checks (or be starved by them).

The fuzzer's generated requests are charged to a third pool, ``--max-fuzz-requests``
(``with ctx.fuzz_budget():``), so that fuzzing can never leave the other checks untested.

Every exchange is recorded; the runner later runs the response-scope checks over all of them.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from conformance import _json
from conformance._client import ErrorKind, HttpResult
from conformance._operations import SPACE_SUFFIX, ApiProfile, IdKind, space_variant
from conformance._ratelimit import RateLimits
from conformance.findings import Finding, Severity

if TYPE_CHECKING:
    from conformance._client import BoundedClient
    from conformance._config import RunConfig
    from conformance._specs import Operation

Credential = Literal["default", "none", "wrong"]
Pool = Literal["run", "lifecycle", "fuzz"]
RATE_LIMIT_WAIT = 5.0
"""Longest wait for a rate-limit window before the run gives up on the target."""
STALL_LIMIT = 3
"""Timeouts after which the whole target counts as stalled."""
WRONG_KEY = "stepspec-made-up-credential-0000"
"""The made-up credential of the auth checks (not a secret: reports show it)."""
_UNSET: Any = object()
NOT_JSON: Any = object()
"""``Exchange.json`` when the body is not JSON."""


@dataclass(eq=False)
class Exchange:
    """One request the kit sent and what came back."""

    operation: Operation
    """The operation as reports name it (Kibana's ``InSpace`` twin folded into its base)."""
    params: Mapping[str, str]
    query: tuple[tuple[str, str], ...]
    credential: Credential
    space: str | None
    purpose: str
    """The check (or ``discovery``) that sent it."""
    result: HttpResult

    @property
    def status(self) -> int | None:
        """HTTP status, or None when no response arrived."""
        return None if self.result.response is None else self.result.response.status

    @property
    def body(self) -> bytes:
        """Body bytes (possibly partial when ``result.error`` is set)."""
        return b"" if self.result.response is None else self.result.response.body

    @cached_property
    def json(self) -> Any:
        """The parsed body, or ``NOT_JSON``."""
        if self.result.response is None or self.result.error is not None:
            return NOT_JSON
        try:
            return _json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return NOT_JSON

    @property
    def object(self) -> dict[str, Any] | None:
        """The parsed body if it is a complete 2xx JSON object, else None."""
        value = self.json
        return value if self.ok and isinstance(value, dict) else None

    @property
    def ok(self) -> bool:
        """A complete 2xx response with a JSON body."""
        return self.status is not None and 200 <= self.status < 300 and self.json is not NOT_JSON

    def describe(self) -> str:
        """``GET /path -> 200`` for messages."""
        status = "no response" if self.status is None else str(self.status)
        return f"{self.result.request.method} {self.result.request.url} -> {status}"

    def finding(
        self,
        check: str,
        title: str,
        path: str,
        expected: str,
        found: str,
        *,
        inferred: bool = False,
        detail: str = "",
    ) -> Finding:
        """A finding of ``check`` about this response (a warning when the rule is inferred)."""
        return Finding(
            check=check,
            title=title,
            operation=self.operation.operation_id,
            path=path,
            expected=expected,
            found=found,
            severity=Severity.WARNING if inferred else Severity.ERROR,
            inferred=inferred,
            detail=detail,
            request=self.result.request,
        )


@dataclass
class Ids:
    """Ids found by discovery (or given by the user); the first of each list is the primary."""

    workflows: list[str] = field(default_factory=list)
    runs: list[tuple[str | None, str]] = field(default_factory=list)
    """(workflow id if known, run id)."""
    run_status: dict[str, str] = field(default_factory=dict)
    run_counts: dict[str, int] = field(default_factory=dict)
    """workflow id -> runs its first list page showed (pagination picks the longest list)."""
    steps: list[tuple[str, str]] = field(default_factory=list)
    """(run id, step id)."""
    notes: list[str] = field(default_factory=list)
    """What discovery could not find, in words."""

    def primary(self, kind: IdKind) -> str | None:
        """The primary id of ``kind``."""
        if kind == "workflow":
            return self.workflows[0] if self.workflows else None
        if kind == "run":
            return self.runs[0][1] if self.runs else None
        if kind == "step":
            return self.steps[0][1] if self.steps else None
        return None

    def busiest_workflow(self) -> str | None:
        """The workflow whose run list was longest (the best one to page through)."""
        if not self.run_counts:
            return None
        return max(self.run_counts, key=lambda workflow: self.run_counts[workflow])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary for reports."""
        return {
            "workflow": self.primary("workflow"),
            "run": self.primary("run"),
            "step": self.primary("step"),
            "workflows": len(self.workflows),
            "runs": len(self.runs),
            "steps": len(self.steps),
        }


class Context:
    """The target as checks see it (see the module docstring)."""

    def __init__(self, config: RunConfig, client: BoundedClient, profile: ApiProfile) -> None:
        self.config = config
        self.client = client
        self.profile = profile
        self.ids = Ids()
        self.exchanges: list[Exchange] = []
        self.requests_sent = 0
        self.dead: dict[str, str] = {}
        """operationId -> why it is no longer called."""
        self.stalled: str | None = None
        self.current: str = "discovery"
        self.touched: dict[str, set[str]] = {}
        """check name -> operationIds it sent requests for."""
        self.skips: dict[tuple[str, str], str] = {}
        """(check, operationId) -> why that case was not tested."""
        self.budget_exhausted = False
        self.lifecycle_sent = 0
        """Requests charged to the lifecycle pool (also counted in ``requests_sent``)."""
        self.lifecycle_exhausted = False
        self._pool: Pool = "run"
        self.memo: dict[str, Any] = {}
        """Results several checks share (e.g. the run the lifecycle checks started)."""
        self.started = time.monotonic()
        self.rate_limits = RateLimits(profile.api, config.rate_limit_budget, RATE_LIMIT_WAIT)
        """How long 429s may still be waited out (see ``_ratelimit``)."""
        self._cache: dict[tuple[Any, ...], Exchange] = {}
        self._outside_failures = 0
        self.generated: dict[str, int] = {}
        """operationId -> requests the fuzzer sent (outside ``get``)."""
        self.fuzz_sent = 0
        """Requests charged to the fuzz pool (also counted in ``requests_sent``)."""
        self.fuzz_exhausted = False
        self.findings_seen = 0
        """Findings reported so far (kept up to date by the runner, for progress)."""
        self.on_request: Callable[[], None] | None = None
        """Called after each request is counted (the runner's progress display)."""

    # -- what checks call ------------------------------------------------------------------

    @property
    def strict(self) -> bool:
        """Whether inferred rules count as errors."""
        return self.config.strict

    def finding(
        self,
        exchange: Exchange,
        title: str,
        path: str,
        expected: str,
        found: str,
        *,
        inferred: bool = False,
        detail: str = "",
    ) -> Finding:
        """A finding of the running check about ``exchange`` (it names the check itself)."""
        return exchange.finding(
            self.current, title, path, expected, found, inferred=inferred, detail=detail
        )

    def skip(self, operation_id: str, reason: str) -> None:
        """Record that the current check could not test ``operation_id``, and why."""
        self.skips.setdefault((self.current, operation_id), reason)

    def exercised(self, operation_id: str) -> None:
        """Record that the current check judged ``operation_id`` (sent by another check)."""
        self.touched.setdefault(self.current, set()).add(operation_id)

    @contextmanager
    def lifecycle_budget(self) -> Iterator[None]:
        """Charge the requests sent inside to ``--max-lifecycle-requests`` (see the docstring)."""
        previous, self._pool = self._pool, "lifecycle"
        try:
            yield
        finally:
            self._pool = previous

    @contextmanager
    def fuzz_budget(self) -> Iterator[None]:
        """Charge the requests sent inside to ``--max-fuzz-requests`` (see the docstring)."""
        previous, self._pool = self._pool, "fuzz"
        try:
            yield
        finally:
            self._pool = previous

    def params_for(self, operation: Operation, **overrides: str) -> dict[str, str] | None:
        """Path parameters from the primary ids (``overrides`` win); None if one is unknown."""
        from conformance._operations import path_params

        params: dict[str, str] = {}
        for name in path_params(operation):
            if name in overrides:
                params[name] = overrides[name]
                continue
            kind = self.profile.id_params.get(name)
            value = None if kind is None else self._id_for(kind)
            if value is None:
                return None
            params[name] = value
        return params

    def _id_for(self, kind: IdKind) -> str | None:
        if kind == "workflow":
            # The workflow of the primary run comes first, so run and workflow belong together.
            if self.ids.runs and self.ids.runs[0][0]:
                return self.ids.runs[0][0]
            return self.ids.primary("workflow")
        return self.ids.primary(kind)

    def get(
        self,
        operation: Operation,
        params: Mapping[str, str] | None = None,
        query: Mapping[str, str | Sequence[str]] | None = None,
        *,
        credential: Credential = "default",
        space: str | None = _UNSET,
        fresh: bool = False,
    ) -> Exchange | None:
        """GET ``operation`` and record the exchange; None when the run's bounds forbid it.

        ``space`` (Kibana) sends the request under ``/s/<space>``; by default the run's
        ``--space``, and ``None`` forces the unprefixed path. ``fresh`` sends the request even
        if an identical one was sent before (to re-read data that may have moved).
        """
        space = self.config.space if space is _UNSET else space
        pairs = _query_pairs(query)
        key = (
            operation.operation_id,
            tuple(sorted((params or {}).items())),
            pairs,
            credential,
            space,
        )
        cached = None if fresh else self._cache.get(key)
        if cached is None and self._refuse(operation):
            return None
        self.touched.setdefault(self.current, set()).add(operation.operation_id)
        if cached is not None:
            return cached
        url = self._url(operation, params or {}, pairs, space)
        result = self._send(operation, "GET", url, self._headers(credential))
        exchange = Exchange(
            operation=operation,
            params=dict(params or {}),
            query=pairs,
            credential=credential,
            space=space,
            purpose=self.current,
            result=result,
        )
        self.exchanges.append(exchange)
        self._after(operation, exchange)
        if exchange.status == 429:
            return None  # not waited out: no check judges it (see ``_ratelimit``)
        self._cache[key] = exchange
        return exchange

    def post(
        self,
        operation: Operation,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        space: str | None = _UNSET,
    ) -> Exchange | None:
        """POST ``operation`` (a write: never cached) and record the exchange.

        ``body`` is sent as JSON when it is not None; ``headers`` are added to the credential
        (e.g. Kibana's ``kbn-xsrf``). None when the run's bounds forbid the request.
        """
        space = self.config.space if space is _UNSET else space
        if self._refuse(operation):
            return None
        self.exercised(operation.operation_id)
        sent = self._headers("default")
        sent.update(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        result = self._send(
            operation, "POST", self._url(operation, params or {}, (), space), sent, payload
        )
        exchange = Exchange(
            operation=operation,
            params=dict(params or {}),
            query=(),
            credential="default",
            space=space,
            purpose=self.current,
            result=result,
        )
        self.exchanges.append(exchange)
        self._after(operation, exchange)
        if exchange.status == 429:
            return None  # not waited out: nothing was written (see ``_ratelimit``)
        return exchange

    def _send(
        self,
        operation: Operation,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> HttpResult:
        """Send one request; a 429 is waited out and asked again while the bounds allow it."""
        while True:
            self._count()
            result = self.client.request(method, url, headers, body)
            if result.response is None or result.response.status != 429:
                return result
            wait = self.rate_limits.decide(result.response)
            if isinstance(wait, str):
                self.stalled = wait
                return result
            if self._refuse(operation):
                return result
            self.rate_limits.wait(wait)

    def _headers(self, credential: Credential) -> dict[str, str]:
        headers = dict(self.config.headers)
        if credential == "default":
            headers.update(self.config.credential_headers)
            return headers
        # Without a credential (or with a made-up one) no header the vendor reads a credential
        # from may be left: a key given with --header would still authenticate the probe.
        carriers = self.profile.credential_header_names
        headers = {name: value for name, value in headers.items() if name.lower() not in carriers}
        if credential == "wrong":
            headers.update(self.profile.credential(WRONG_KEY))
        return headers

    # -- bounds ----------------------------------------------------------------------------

    def _count(self) -> None:
        self.requests_sent += 1
        if self._pool == "lifecycle":
            self.lifecycle_sent += 1
        elif self._pool == "fuzz":
            self.fuzz_sent += 1
        if self.on_request is not None:
            self.on_request()

    def _refuse(self, operation: Operation) -> bool:
        if self.stalled is not None or operation.operation_id in self.dead:
            return True
        if self._pool == "lifecycle":
            if self.lifecycle_sent >= self.config.lifecycle_max_requests:
                self.lifecycle_exhausted = True
                return True
            return False
        if self._pool == "fuzz":
            if self.fuzz_sent >= self.config.max_fuzz_requests:
                self.fuzz_exhausted = True
                return True
            return False
        if self.requests_sent - self.lifecycle_sent - self.fuzz_sent >= self.config.max_requests:
            self.budget_exhausted = True
            return True
        return False

    def _after(self, operation: Operation, exchange: Exchange) -> None:
        error = exchange.result.error
        if error is None or error.kind not in (ErrorKind.TIMEOUT, ErrorKind.CONNECTION):
            return
        self.dead[operation.operation_id] = (
            f"it timed out once ({error.message}), so it was not called again"
            if error.kind is ErrorKind.TIMEOUT
            else f"the connection failed ({error.message}), so it was not called again"
        )
        timeouts = self._failures()
        if timeouts >= STALL_LIMIT:
            self.stalled = (
                f"{timeouts} requests timed out or failed to connect; the target looks stalled, "
                "so no further requests were sent"
            )

    def charge(self, operation: Operation) -> bool:
        """Reserve one request for a request sent outside ``get`` (the fuzzer); False if refused."""
        if self._refuse(operation):
            return False
        self._count()
        self.generated[operation.operation_id] = self.generated.get(operation.operation_id, 0) + 1
        self.touched.setdefault(self.current, set()).add(operation.operation_id)
        return True

    def transport_failed(self, operation: Operation, *, timeout: bool, message: str) -> None:
        """Count a timeout or connection failure seen outside ``get`` (stops the operation)."""
        self.dead[operation.operation_id] = (
            f"it {'timed out' if timeout else 'failed to connect'} once ({message}), "
            "so it was not called again"
        )
        self._outside_failures += 1
        if self._failures() >= STALL_LIMIT:
            self.stalled = (
                "requests timed out or failed to connect repeatedly; the target looks stalled, "
                "so no further requests were sent"
            )

    def _failures(self) -> int:
        return self._outside_failures + sum(
            1
            for ex in self.exchanges
            if ex.result.error is not None
            and ex.result.error.kind in (ErrorKind.TIMEOUT, ErrorKind.CONNECTION)
        )

    def unavailable(self, operation_id: str) -> str | None:
        """Why ``operation_id`` cannot be called any more, if it cannot."""
        if operation_id in self.dead:
            return self.dead[operation_id]
        if self.stalled is not None:
            return self.stalled
        if self.budget_exhausted:
            return f"the request budget (--max-requests {self.config.max_requests}) ran out"
        return None

    def _url(
        self,
        operation: Operation,
        params: Mapping[str, str],
        query: tuple[tuple[str, str], ...],
        space: str | None,
    ) -> str:
        path = operation.path
        if space is not None and self.profile.has_spaces:
            twin = (
                operation
                if operation.operation_id.endswith(SPACE_SUFFIX)
                else space_variant(operation)
            )
            if twin is not None:
                path = twin.path
                params = {**params, "space_id": space}
        for name, value in params.items():
            path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
        url = self.config.base_url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return url


def _query_pairs(query: Mapping[str, str | Sequence[str]] | None) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for name, value in (query or {}).items():
        if isinstance(value, str):
            pairs.append((name, value))
        else:
            pairs.extend((name, str(item)) for item in value)
    return tuple(pairs)
