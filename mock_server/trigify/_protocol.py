"""Trigify's protocol: API-key authentication and the standard error envelope.

The key is accepted in ``x-api-key`` or as ``Authorization: Bearer <key>`` (Trigify's help
centre: "Trigify accepts the key two ways"); ``x-api-key`` wins when both are sent. Errors use
the envelope of the ERRORS page, ``{success: false, error: {code, message, details,
suggestion}}`` with its documented codes (``AUTH_REQUIRED`` when the key is missing,
``INVALID_API_KEY`` when ``--api-key`` restricts keys and this one is not among them,
``VALIDATION_ERROR`` for bad query values, ``NOT_FOUND``). The older flat 401 body of the AUTH
page is not emitted (the kit accepts both). Rate limiting answers with the standard envelope
(``RATE_LIMITED``, the ERRORS page) carrying the RATE page's message and ``retryAfterSeconds``
(read by a client generated from a recovered Trigify spec), beside the ``Retry-After`` header: the
flat RATE body has no room for the wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

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
RATE_LIMIT_MESSAGE = "Rate limit exceeded. Maximum 100 requests per minute allowed."
RATE_LIMIT_SUGGESTION = "Wait for the window to reset (see Retry-After) before retrying"


def envelope(
    code: str, message: str, details: dict[str, Any] | None = None, suggestion: str | None = None
) -> dict[str, Any]:
    """The standard error body."""
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details, "suggestion": suggestion},
    }


def rate_limited(retry_after_s: int) -> Response:
    """429 ``RATE_LIMITED`` with ``retryAfterSeconds`` and the ``Retry-After`` header."""
    body = envelope("RATE_LIMITED", RATE_LIMIT_MESSAGE, suggestion=RATE_LIMIT_SUGGESTION)
    body["error"]["retryAfterSeconds"] = retry_after_s
    response = json_response(body, 429)
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def error_response(status: int, message: str | None = None, *, code: str | None = None) -> Response:
    """The standard envelope for ``status`` (``code`` defaults to the status's documented code).

    A bare 429 (e.g. ``Prefer: code=429``) is the enforced limit's answer; its wait is filled in
    per request by the routes (``RateLimit-Reset``), 60 s until then.
    """
    if status == 429 and message is None and code is None:
        return rate_limited(60)
    if message is None:
        message = _MESSAGES.get(status) or _phrase(status)
    return json_response(envelope(code or CODES.get(status, "ERROR"), message), status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def api_key(request: Request) -> str | None:
    """The key of ``x-api-key`` or ``Authorization: Bearer``, or None when neither has one."""
    return key_of(request.headers.get("x-api-key"), request.headers.get("Authorization"))


def key_of(x_api_key: str | None, authorization: str | None) -> str | None:
    """The API key a request carries: ``x-api-key`` first, else a ``Bearer`` credential."""
    key = (x_api_key or "").strip()
    if key:
        return key
    scheme, _, credential = (authorization or "").strip().partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def authenticate(request: Request, ctx: MockContext) -> Response | None:
    """None for an acceptable key; else 401 ``AUTH_REQUIRED`` or ``INVALID_API_KEY``."""
    key = api_key(request)
    if key is None:
        body = envelope(
            "AUTH_REQUIRED",
            _MESSAGES[401],
            suggestion="Create an API key in the Trigify app and send it as x-api-key "
            "(or as Authorization: Bearer <key>)",
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


def limited(response: Response, retry_after_s: int) -> None:
    """Make any 429 say how long to wait: no request left, ``Retry-After`` and the body's
    ``retryAfterSeconds`` set to the window's reset."""
    response.headers["RateLimit-Remaining"] = "0"
    response.headers["Retry-After"] = str(retry_after_s)
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error["retryAfterSeconds"] = retry_after_s
        response.set_data(orjson.dumps(body))
