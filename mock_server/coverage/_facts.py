"""Coverage facts: what one vendor answer shows, and whose answer it was.

A client is its credential's fingerprint (``fingerprint``), never the raw key; requests without
credentials count as ``ANONYMOUS``. ``Observation`` is what one answer tells (operation, status,
run and step states in the body, the error case) and ``Fact`` the rows it contributes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mock_server._openapi import ApiIndex

ANONYMOUS = "anonymous"
_STEP_MARKERS = ("stepId", "node_id", "step_id")
_RUN_MARKERS = ("startedAt", "start_time", "started_at")
_MAX_CASE = 120
_MAX_DEPTH = 64
_CONTAINERS = (dict, list)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|\[[^\]]*\]")

Fact = tuple[str, str, str, str, int, str]
"""(client, api, kind, operation, status, detail); kind: call | error | run_state | step_state."""


def fingerprint(credential: str) -> str:
    """The short, stable name of a credential in reports (never the credential itself)."""
    return hashlib.sha256(f"stepspec-coverage:{credential}".encode()).hexdigest()[:12]


def credential_of(headers: Mapping[str, str]) -> str | None:
    """The secret a request presents: the token after the ``Authorization`` scheme, or
    ``x-api-key``; None without credentials. One key used with every vendor is one client."""
    for name in ("authorization", "authentication"):
        value = (headers.get(name) or "").strip()
        if value:
            scheme, _, token = value.partition(" ")
            return token.strip() or scheme
    key = (headers.get("x-api-key") or "").strip()
    return key or None


@dataclass(frozen=True, slots=True)
class Observation:
    """What one vendor answer tells coverage, before it is attributed to a client."""

    api: str
    operation: str
    """The canonical operationId ("" when no documented operation matches the request)."""
    status: int
    error_case: str | None
    run_states: frozenset[str]
    step_states: frozenset[str]

    def facts(self, client: str) -> Iterator[Fact]:
        """The rows this observation contributes for ``client``."""
        yield (client, self.api, "call", self.operation, self.status, "")
        if self.error_case is not None:
            yield (client, self.api, "error", self.operation, self.status, self.error_case)
        for state in self.run_states:
            yield (client, self.api, "run_state", self.operation, 0, state)
        for state in self.step_states:
            yield (client, self.api, "step_state", self.operation, 0, state)


def body_states(body: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(run states, step states) named in a JSON body.

    A step is an object with a ``status`` and a step key (Kibana ``stepId``, Arcee ``node_id``,
    Trigify ``step_id``); a run is one with a ``status`` and a start time. Workflows also carry a
    ``status`` (``PUBLISHED``) but no start time, so they are not mistaken for runs.
    """
    runs: set[str] = set()
    steps: set[str] = set()
    # Only containers are visited (scalars cannot name a state), depth first; a container
    # deeper than ``_MAX_DEPTH`` is ignored. Exact dicts and lists (all orjson makes) take the
    # recursive ``_walk``; subclasses the slower ``_subclass_states``.
    if type(body) in _CONTAINERS:
        _walk(body, 0, runs, steps)
    elif isinstance(body, (dict, list)):
        _subclass_states(body, 0, runs, steps)
    return frozenset(runs), frozenset(steps)


def _walk(node: Any, depth: int, runs: set[str], steps: set[str]) -> None:
    """``body_states`` of an exact dict or list at ``depth`` (at most ``_MAX_DEPTH``)."""
    values: Iterable[Any]
    if type(node) is dict:
        status = node.get("status")
        if isinstance(status, str):  # the markers are _STEP_MARKERS and _RUN_MARKERS
            if "stepId" in node or "node_id" in node or "step_id" in node:
                steps.add(status)
            elif "startedAt" in node or "start_time" in node or "started_at" in node:
                runs.add(status)
        values = node.values()
    else:
        values = node
    depth += 1
    for value in values:
        kind = type(value)
        if kind is dict or kind is list:
            if depth <= _MAX_DEPTH:
                _walk(value, depth, runs, steps)
        elif kind is not str and isinstance(value, (dict, list)):  # a subclass (not orjson's)
            _subclass_states(value, depth, runs, steps)


def _subclass_states(node: Any, depth: int, runs: set[str], steps: set[str]) -> None:
    """``body_states`` of a dict or list subclass at ``depth``, added to ``runs``/``steps``."""
    pending: list[tuple[Any, int]] = [(node, depth)]
    while pending:
        node, depth = pending.pop()
        if depth > _MAX_DEPTH:
            continue
        if isinstance(node, dict):
            status = node.get("status")
            if isinstance(status, str):
                if any(key in node for key in _STEP_MARKERS):
                    steps.add(status)
                elif any(key in node for key in _RUN_MARKERS):
                    runs.add(status)
            pending.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            pending.extend((value, depth + 1) for value in node)


def error_case(body: Any, status: int) -> str:
    """A short, stable name for an error answer: the vendor's code, else its normalised message.

    Trigify: ``error.code``; Arcee: ``detail`` (validation errors by their ``type``s); Kibana:
    ``error`` and ``message``. Quoted and bracketed values are elided so that one case does not
    become one row per id.
    """
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return str(inner["code"])
        detail = body.get("detail")
        if isinstance(detail, str):
            return _normalise(detail)
        if isinstance(detail, list):
            kinds = sorted({str(item.get("type")) for item in detail if isinstance(item, dict)})
            return "validation: " + ", ".join(kinds)
        message = body.get("message")
        if isinstance(inner, str) and isinstance(message, str):
            return inner if message == inner else f"{inner}: {_normalise(message)}"
    return f"HTTP {status}"


def _normalise(text: str) -> str:
    short = _QUOTED.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[-1], text)
    return short if len(short) <= _MAX_CASE else short[: _MAX_CASE - 1] + "…"


def canonical_operations(index: ApiIndex) -> dict[str, str]:
    """operationId -> the operation it is reported under.

    Kibana documents every route twice (``getExecution`` and ``getExecutionInSpace`` for
    ``/s/{space_id}/...``); a client exercised the operation whichever space it used.
    """
    ids = {op.operation_id for op in index.operations}
    return {
        op_id: base if (base := op_id.removesuffix("InSpace")) in ids else op_id for op_id in ids
    }
