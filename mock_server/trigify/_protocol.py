"""Trigify's protocol: ``x-api-key`` authentication and the standard error envelope.

Errors use the envelope of the ERRORS page, ``{success: false, error: {code, message, details,
suggestion}}`` with its documented codes (``AUTH_REQUIRED`` when the key is missing,
``INVALID_API_KEY`` when ``--api-key`` restricts keys and this one is not among them,
``VALIDATION_ERROR`` for bad query values, ``NOT_FOUND``). The older flat 401 body of the AUTH
page is not emitted (the kit accepts both). Rate limiting answers with the RATE page's own flat
429 body, the only body documented for that case with its exact text.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from mock_server._http import json_response

if TYPE_CHECKING:
    from flask import Request, Response

    from mock_server._context import MockContext
    from mock_server._params import QueryProblem

CODES = {
    400: "BAD_REQUEST",
    401: "AUTH_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}
"""Documented codes by status (``METHOD_NOT_ALLOWED``, ``INTERNAL_ERROR`` are inferred)."""
_MESSAGES = {
    401: "API key required. Pass your key in the x-api-key header.",
    404: "Resource not found",
    429: "Too many requests",
    500: "Internal server error",
}
RATE_LIMIT_BODY = {
    "success": False,
    "message": "Rate limit exceeded. Maximum 100 requests per minute allowed.",
    "error": "RATE_LIMIT_EXCEEDED",
}


def envelope(
    code: str, message: str, details: dict[str, Any] | None = None, suggestion: str | None = None
) -> dict[str, Any]:
    """The standard error body."""
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details, "suggestion": suggestion},
    }


def error_response(status: int, message: str | None = None, *, code: str | None = None) -> Response:
    """The standard envelope for ``status`` (``code`` defaults to the status's documented code).

    A bare 429 (e.g. ``Prefer: code=429``) is the RATE page's flat body, the same one the
    enforced limit answers with.
    """
    if status == 429 and message is None and code is None:
        return json_response(RATE_LIMIT_BODY, 429)
    if message is None:
        message = _MESSAGES.get(status) or _phrase(status)
    return json_response(envelope(code or CODES.get(status, "ERROR"), message), status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def api_key(request: Request) -> str | None:
    """The ``x-api-key`` header, or None when missing or blank."""
    key = (request.headers.get("x-api-key") or "").strip()
    return key or None


def authenticate(request: Request, ctx: MockContext) -> Response | None:
    """None for an acceptable key; else 401 ``AUTH_REQUIRED`` or ``INVALID_API_KEY``."""
    key = api_key(request)
    if key is None:
        body = envelope(
            "AUTH_REQUIRED",
            _MESSAGES[401],
            suggestion="Create an API key in the Trigify app and send it as x-api-key",
        )
        return json_response(body, 401)
    if ctx.config.api_keys and key not in ctx.config.plain_keys:
        return json_response(
            envelope("INVALID_API_KEY", "The API key is invalid or has been revoked"), 401
        )
    return None


def query_errors(problems: Sequence[QueryProblem]) -> Response:
    """400 ``VALIDATION_ERROR`` naming the first bad parameter and listing all problems."""
    first = problems[0]
    details = {"field": first.name, "errors": [describe(problem) for problem in problems]}
    return json_response(envelope("VALIDATION_ERROR", describe(first), details), 400)


def describe(problem: QueryProblem) -> str:
    """``page_size must be at most 100``: one problem in Trigify's plain wording."""
    name, kind, expected = problem.name, problem.kind, problem.expected
    if kind in ("minimum", "maximum"):
        return f"{name} must be {'at least' if kind == 'minimum' else 'at most'} {expected}"
    if kind == "type":
        return f"{name} must be {'an' if expected == 'integer' else 'a'} {expected}"
    if kind == "enum" and isinstance(expected, tuple | list):
        return f"{name} must be one of {', '.join(map(str, expected))}"
    if kind == "required":
        return f"{name} is required"
    return f"{name} is invalid"
