"""Recorded traffic as the checks see it: an exchange matched to its OpenAPI operation.

``match(api, method, path)`` finds the operation a request addresses (the candidate with the
most literal path segments wins, so ``/executions/steps`` is not read as an execution id) and
its path parameters; Kibana's ``/s/{space_id}/...`` twins are folded into their base operation
with the space kept apart, exactly as ``_context.Context.get`` names what it sends.
``to_exchange(api, entry)`` turns a ``HarEntry`` into the ``_context.Exchange`` every
check judges, with the request masked for reports (credential headers and query parameters
read ``[redacted]``); it returns None for traffic that is not this API's (another path, an
``OPTIONS`` preflight, a redirect hop).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from conformance import _operations, _specs
from conformance._client import ErrorKind, HttpResponse, HttpResult, TransportError
from conformance.findings import RecordedRequest
from conformance.har import REDACTED, HarEntry, is_secret_header, redact_url

if TYPE_CHECKING:
    from conformance._context import Exchange
    from conformance._specs import Operation
    from conformance.har import HarWriter

__all__ = ["Match", "exchange_to_entry", "match", "record_exchanges", "to_exchange"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Match:
    """The operation a request addresses, as reports name it, and what its path carried."""

    operation: Operation
    """The logical operation (Kibana's ``...InSpace`` twin folded into its base)."""
    params: dict[str, str]
    """Path parameters (``space_id`` excluded)."""
    space: str | None
    """Kibana space of a ``/s/<space>/...`` request, else None."""


@cache
def _patterns(api: str) -> tuple[tuple[re.Pattern[str], int, Operation], ...]:
    compiled: list[tuple[re.Pattern[str], int, Operation]] = []
    for operation in _specs.operations(api):
        parts = operation.path.strip("/").split("/")
        regex = "/".join(
            f"(?P<{part[1:-1]}>[^/]+)"
            if part.startswith("{") and part.endswith("}")
            else re.escape(part)
            for part in parts
        )
        literal = sum(1 for part in parts if not part.startswith("{"))
        compiled.append((re.compile(f"^/{regex}/?$"), literal, operation))
    compiled.sort(key=lambda item: -item[1])
    return tuple(compiled)


def match(api: str, method: str, path: str) -> Match | None:
    """The operation of ``api`` that ``method path`` addresses, or None (see the docstring)."""
    method = method.lower()
    for pattern, _, operation in _patterns(api):
        if operation.method != method:
            continue
        found = pattern.match(path)
        if found is None:
            continue
        params = dict(found.groupdict())
        space = params.pop("space_id", None)
        logical = operation
        if operation.operation_id.endswith(_operations.SPACE_SUFFIX):
            logical = _specs.operation(
                api, operation.operation_id.removesuffix(_operations.SPACE_SUFFIX)
            )
        return Match(logical, params, space)
    return None


def _error(entry: HarEntry) -> TransportError | None:
    if entry.status in _REDIRECTS:
        location = entry.header("location") or ""
        if location and redact_url(location).split("?")[0].rstrip("/").endswith(
            entry.path.rstrip("/")
        ):
            return TransportError(ErrorKind.REDIRECT_LOOP, f"{entry.url} redirects to itself")
    if not entry.error:
        return None
    kind, sep, message = entry.error.partition(": ")
    known = {member.value: member for member in ErrorKind}
    if sep and kind in known:
        return TransportError(known[kind], message)
    return TransportError(ErrorKind.PROTOCOL, entry.error)


def to_exchange(api: str, entry: HarEntry, *, purpose: str = "recorded") -> Exchange | None:
    """``entry`` as the checks' ``Exchange``, or None when it is not a call of ``api``."""
    from conformance._context import Exchange

    found = match(api, entry.method, entry.path)
    if found is None:
        return None
    error = _error(entry)
    if entry.status in _REDIRECTS and error is None:
        return None  # a hop: the exchange that counts is the one it leads to
    auth = _operations.profile(api).auth_header
    request = RecordedRequest(
        method=entry.method.upper(),
        url=redact_url(entry.url),
        headers=tuple(
            (name, REDACTED if is_secret_header(name) else value)
            for name, value in entry.request_headers
            if name.lower() not in ("host", "content-length", "connection")
        ),
    )
    response = None
    if entry.status:
        headers: dict[str, str] = {}
        for name, value in entry.response_headers:
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        response = HttpResponse(entry.status, entry.reason, headers, entry.response_body)
    elif error is None:
        error = TransportError(ErrorKind.CONNECTION, "no response was recorded")
    return Exchange(
        operation=found.operation,
        params=found.params,
        query=entry.query,
        credential="default" if entry.request_header(auth) is not None else "none",
        space=found.space,
        purpose=purpose,
        result=HttpResult(request, response, error, entry.time_ms / 1000.0),
    )


def exchange_to_entry(exchange: Exchange, started: datetime) -> HarEntry:
    """A request the kit sent (already masked by its client) as a ``HarEntry``."""
    request = exchange.result.request
    response = exchange.result.response
    error = exchange.result.error
    return HarEntry(
        method=request.method,
        url=request.url,
        request_headers=request.headers,
        status=response.status if response is not None else 0,
        reason=response.reason if response is not None else "",
        response_headers=tuple(response.headers.items()) if response is not None else (),
        response_body=response.body if response is not None else b"",
        started=started,
        time_ms=exchange.result.elapsed * 1000.0,
        error=f"{error.kind.value}: {error.message}" if error is not None else "",
    )


def record_exchanges(recorder: HarWriter, exchanges: Iterable[Exchange], since: float) -> None:
    """Add the kit's ``exchanges`` to ``recorder``; ``since`` is the run's ``time.monotonic()``
    start. The kit sends one request at a time, so each starts where the one before ended."""
    clock = datetime.now(UTC) - timedelta(seconds=time.monotonic() - since)
    for exchange in exchanges:
        recorder.add(exchange_to_entry(exchange, clock))
        clock += timedelta(seconds=exchange.result.elapsed)
