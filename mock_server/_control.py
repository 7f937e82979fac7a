"""Control of the mock per request and per server, in the conventions Prism users know.

- ``Prefer: code=404`` answers with that documented status: an error in the vendor's envelope,
  or the documented example for a success.
- ``Prefer: example=<name>`` serves the named OpenAPI example of the operation's 200 response
  (or of the status given with ``code=``); an unknown name is a 400 that lists the known names.
- ``latency_ms``: every request waits a fixed time, or a seeded random draw from a range.
- ``error_rate``: a seeded per-request draw turns that share of requests into a 500 in the
  vendor's envelope, marked ``X-Stepspec-Injected: error-rate`` so nobody mistakes it for a bug.

Draws come from one ``random.Random(seed)`` per app and kind, so a given sequence of requests to
one process sees the same delays and faults on every start.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Response

from mock_server._http import json_response
from mock_server._openapi import OperationSpec
from mock_server._rng import entity_seed
from mock_server._vendor import Vendor

INJECTED_HEADER = "X-Stepspec-Injected"


def parse_prefer(header: str | None) -> dict[str, str]:
    """``"code=404, example=notFound"`` -> ``{"code": "404", "example": "notFound"}``."""
    found: dict[str, str] = {}
    if not header:
        return found
    for token in header.replace(";", ",").split(","):
        key, sep, value = token.strip().partition("=")
        if sep and key.strip():
            found[key.strip().lower()] = value.strip().strip('"')
    return found


def apply_prefer(
    preferences: Mapping[str, str], operation: OperationSpec, vendor: Vendor
) -> Response | None:
    """The answer ``Prefer`` asks for, or None to let the view answer normally."""
    code_text, example = preferences.get("code"), preferences.get("example")
    if code_text is None and example is None:
        return None
    documented = sorted(operation.responses)
    if code_text is None:
        status = 200
    elif code_text.isdigit() and code_text in operation.responses:
        status = int(code_text)
    else:
        return vendor.error_response(
            400,
            f"Prefer: code={code_text} is not a documented status of {operation.operation_id}; "
            f"documented: {', '.join(documented)}",
        )
    spec = operation.response(status)
    examples = spec.examples if spec is not None else {}
    if example is not None:
        if example not in examples:
            known = ", ".join(sorted(examples)) or "none"
            return vendor.error_response(
                400,
                f"Prefer: example={example} is not an example of the {status} response of "
                f"{operation.operation_id}; known examples: {known}",
            )
        return json_response(examples[example], status)
    if status >= 400:
        return vendor.error_response(status)
    if examples:
        return json_response(next(iter(examples.values())), status)
    return Response(b"", status=status)


@dataclass
class Faults:
    """Seeded latency and error injection for one app."""

    seed: int
    latency_ms: tuple[int, int]
    error_rate: float

    def __post_init__(self) -> None:
        self._latency_rng = random.Random(entity_seed(self.seed, "latency"))
        self._error_rng = random.Random(entity_seed(self.seed, "error-rate"))
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether any per-request behaviour is configured."""
        return self.latency_ms != (0, 0) or self.error_rate > 0

    def delay(self) -> None:
        """Sleep for the configured latency (a seeded draw when it is a range)."""
        low, high = self.latency_ms
        if high <= 0:
            return
        if low == high:
            millis: float = low
        else:
            with self._lock:
                millis = self._latency_rng.uniform(low, high)
        time.sleep(millis / 1000)

    def inject_error(self) -> bool:
        """Whether this request is one of the ``error_rate`` share that fails."""
        if self.error_rate <= 0:
            return False
        with self._lock:
            return self._error_rng.random() < self.error_rate


def injected_error(vendor: Vendor) -> Response:
    """The 500 of an injected fault, in the vendor's envelope, labelled as injected."""
    response = vendor.error_response(
        500, "Internal server error: Error: injected fault (stepspec mock --error-rate)"
    )
    response.headers[INJECTED_HEADER] = "error-rate"
    return response
