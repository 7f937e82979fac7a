"""Arcee's protocol: Bearer authentication and FastAPI-style error bodies.

The docs list only status codes (200, 400, 401, 404, 500); the ``{"message", "run_id"}`` and
``{"diagram"}`` answers suggest a FastAPI backend, so errors use FastAPI's shapes (inferred,
non-normative): ``{"detail": "..."}``, and for invalid parameters a list of
``{"type", "loc", "msg", "input"}`` items — with status 400 as documented, not FastAPI's 422.

Authentication: ``Authorization: Bearer <key>`` is what the kit sends. The docs' request-syntax
blocks write ``Authentication: Bearer <key>``, so that header is accepted as well.
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

_DEFAULTS = {
    400: "Bad Request",
    401: "Not authenticated",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}
_LOCATIONS = {"query": "query", "params": "path", "headers": "header"}


def error_response(status: int, message: str | None = None, *, code: str | None = None) -> Response:
    """``{"detail": message}`` with ``status`` (``code`` is unused: FastAPI has none)."""
    if message is None:
        message = _DEFAULTS.get(status) or _phrase(status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response({"detail": message}, status, headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def bearer_token(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>`` (or the docs' ``Authentication:`` spelling)."""
    header = request.headers.get("Authorization") or request.headers.get("Authentication") or ""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def authenticate(request: Request, ctx: MockContext) -> Response | None:
    """None for an acceptable key; else a 401 (missing/malformed, or not an accepted key)."""
    token = bearer_token(request)
    if token is None:
        return error_response(401, "Not authenticated")
    if ctx.config.api_keys and token not in ctx.config.plain_keys:
        return error_response(401, "Invalid API token")
    return None


def _item(problem: QueryProblem) -> dict[str, Any]:
    kinds: dict[str, tuple[str, str]] = {
        "required": ("missing", "Field required"),
        "type": (
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        "minimum": ("greater_than_equal", f"Input should be greater than or equal to "
                                          f"{problem.expected}"),
        "maximum": ("less_than_equal", f"Input should be less than or equal to "
                                       f"{problem.expected}"),
        "minLength": ("string_too_short", f"String should have at least {problem.expected} "
                                          f"characters"),
        "maxLength": ("string_too_long", f"String should have at most {problem.expected} "
                                         f"characters"),
        "enum": ("enum", f"Input should be one of {problem.expected!r}"),
    }  # fmt: skip
    kind, message = kinds.get(problem.kind, ("value_error", f"Invalid value for {problem.name}"))
    return {
        "type": kind,
        "loc": [_LOCATIONS.get(problem.location, problem.location), problem.name],
        "msg": message,
        "input": problem.found,
    }


def query_errors(problems: Sequence[QueryProblem]) -> Response:
    """400 with FastAPI's list of validation problems."""
    return json_response({"detail": [_item(problem) for problem in problems]}, 400)
