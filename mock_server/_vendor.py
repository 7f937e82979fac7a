"""The contract between the app and each vendor package (kibana, arcee, trigify).

A vendor package exposes ``VENDOR: Vendor``. The app uses it to:

- mount the vendor's routes (``blueprint(ctx)``, called once per app);
- answer app-level errors in the vendor's own envelope (``error_response``): unknown paths under
  one of its ``base_paths``, wrong methods, request-validation failures, injected faults,
  ``Prefer: code=...`` and genuine bugs;
- check credentials before any of the vendor's views run (``authenticate``);
- validate query strings against the vendor's OpenAPI document (named ``name``), formatting the
  problems in the vendor's style (``query_errors``) and, if ``reject_unknown_query``, rejecting
  undocumented query keys as the vendor does.

Views mark answers of the frozen world with ``mock_server._http.mark_cacheable()``; answers that
change over time (live runs, rate-limit counters) must not be marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from flask import Blueprint, Request, Response

    from mock_server._context import MockContext
    from mock_server._params import QueryProblem


class ErrorResponder(Protocol):
    """Build the vendor's error envelope for ``status``.

    Must work outside a request context (no ``flask.jsonify``): use ``json_response``.
    ``message`` defaults to the vendor's standard text for the status; ``code`` is a
    vendor-specific machine code where the envelope has one (Trigify ``error.code``).
    """

    def __call__(
        self, status: int, message: str | None = None, *, code: str | None = None
    ) -> Response: ...


@dataclass(frozen=True)
class Vendor:
    """One mocked API (see the module docstring for how the app uses each member)."""

    name: str
    """Short name, also the directory of its specs: ``kibana``, ``arcee``, ``trigify``."""
    base_paths: tuple[str, ...]
    """Path prefixes this vendor owns (longest match wins): ``("/api/workflows", "/s/")``."""
    blueprint: Callable[[MockContext], Blueprint]
    error_response: ErrorResponder
    authenticate: Callable[[Request, MockContext], Response | None]
    """None when the request's credentials are acceptable, else the vendor's 401 response."""
    query_errors: Callable[[Sequence[QueryProblem]], Response] | None = None
    """Render query-validation problems; None: ``error_response(400, first problem)``."""
    reject_unknown_query: bool = False
    """Whether an undocumented query key is a 400 (Kibana) or ignored (FastAPI, Express)."""

    def owns(self, path: str) -> int:
        """Length of the longest base path that prefixes ``path`` (0: not this vendor's)."""
        return max((len(base) for base in self.base_paths if path.startswith(base)), default=0)


def vendor_for(path: str, vendors: Sequence[Vendor]) -> Vendor | None:
    """The vendor whose base path matches ``path`` best, or None."""
    best, best_len = None, 0
    for vendor in vendors:
        length = vendor.owns(path)
        if length > best_len:
            best, best_len = vendor, length
    return best
