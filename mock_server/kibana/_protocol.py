"""Kibana's HTTP protocol around the workflow routes: auth, xsrf, versions, errors.

- Errors are hapi Boom payloads ``{"statusCode", "error", "message"[, "attributes"]}`` with
  Kibana's default messages (``Not Found``, ``Bad Request``...).
- Credentials: ``Authorization: ApiKey|Basic|Bearer <credential>``; a missing or malformed
  header is a 401 with ``WWW-Authenticate``. With ``--api-key`` only the listed credentials pass
  (compared with the token after the scheme, or with ``user:password`` for Basic).
- A key given as ``--api-key KEY@space-a,space-b`` holds Kibana privileges in those spaces only:
  a request under another space (unprefixed = ``default``) is refused before the route runs,
  with the security plugin's 403 ``API [GET /api/workflows/...] is unauthorized for user, this
  action is granted by the Kibana privileges [...]``
  (``x-pack/platform/plugins/shared/security/server/authorization/api_authorization.ts``; the
  path is the one after the spaces plugin stripped ``/s/<space>``, as the alerting FTR tests
  ``space_1_all at space2`` show).
- ``kbn-xsrf`` is required on every non-GET request: 400 ``Request must contain a kbn-xsrf
  header.``
- ``elastic-api-version``: optional; ``2023-10-31`` is the only version; another well-formed
  version, or a malformed one (an empty value included), is a 400 with the core router's
  messages. Every routed response
  carries ``elastic-api-version: 2023-10-31``.
- Request validation problems become config-schema messages, first problem only, as Kibana
  reports them: ``[request query.size]: Value must be equal to or lower than [100].``
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from flask import Request, Response, request

from mock_server._context import MockContext
from mock_server._http import json_response
from mock_server._params import QueryProblem

API_VERSION = "2023-10-31"
MAX_SAFE_INTEGER = 2**53 - 1
"""JavaScript's ``Number.MAX_SAFE_INTEGER``: the largest query number Kibana reads exactly."""
UNBOUNDED_INTEGER_QUERY_KEYS = ("page",)
"""Integer query parameters without a documented maximum (``size`` has one)."""
VERSION_HEADER = "elastic-api-version"
XSRF_MESSAGE = "Request must contain a kbn-xsrf header."
WWW_AUTHENTICATE = 'ApiKey realm="kibana", Bearer realm="kibana"'
"""Basic is accepted but not offered: a Basic challenge makes browsers pop a login dialog."""
_SCHEMES = {"apikey": "ApiKey", "basic": "Basic", "bearer": "Bearer"}
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~:]+")
_DATE_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_MESSAGES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "An internal server error occurred.",
    501: "Not Implemented",
}


def reason(status: int) -> str:
    """The HTTP reason phrase Boom puts in ``error``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def boom(
    status: int, message: str | None = None, *, attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Boom payload."""
    body: dict[str, Any] = {
        "statusCode": status,
        "error": reason(status),
        "message": message
        if message is not None
        else _DEFAULT_MESSAGES.get(status, reason(status)),
    }
    if attributes:
        body["attributes"] = attributes
    return body


def error_response(status: int, message: str | None = None, *, code: str | None = None) -> Response:
    """Kibana's error envelope (``code`` goes to ``attributes.code`` when given)."""
    attributes = {"code": code} if code else None
    return json_response(boom(status, message, attributes=attributes), status)


def unauthorized(message: str = "Unauthorized") -> Response:
    """401 with the authentication challenge."""
    response = error_response(401, message)
    response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def credential(header: str | None) -> tuple[str, str] | None:
    """``(scheme, credential)`` of a well-formed ``Authorization`` header, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    canonical = _SCHEMES.get(scheme.lower())
    token = token.strip()
    if canonical is None or not token or not _TOKEN.fullmatch(token):
        return None
    if canonical == "Basic":
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if ":" not in decoded or not decoded.split(":", 1)[0]:
            return None
        return canonical, decoded
    return canonical, token


def authenticate(req: Request, ctx: MockContext) -> Response | None:
    """None for acceptable credentials, else a 401 Boom."""
    found = credential(req.headers.get("Authorization"))
    if found is None:
        return unauthorized()
    return None if matching_key(found, ctx.config.plain_keys) is not None else unauthorized()


def matching_key(found: tuple[str, str], keys: Sequence[str]) -> str | None:
    """The configured key these credentials present (any credential when none is configured:
    the credential itself); None when they match none."""
    scheme, secret = found
    if not keys or secret in keys:
        return secret
    if scheme == "Basic" and secret.split(":", 1)[1] in keys:
        return secret.split(":", 1)[1]
    return None


PRIVILEGES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/api/workflows/executions/{executionId}/step/{stepExecutionId}"): (
        "workflowsManagement:readExecution",
    ),
    ("GET", "/api/workflows/executions/{executionId}/steps"): (
        "workflowsManagement:read",
        "workflowsManagement:readExecution",
    ),
    ("GET", "/api/workflows/executions/{executionId}"): ("workflowsManagement:readExecution",),
    ("GET", "/api/workflows/workflow/{workflowId}/executions"): (
        "workflowsManagement:readExecution",
    ),
    ("GET", "/api/workflows/workflow/{workflowId}/executions/steps"): (
        "workflowsManagement:readExecution",
    ),
    # read OR readExecution (WORKFLOW_READ_OR_READ_EXECUTIONS_SECURITY): a key with neither is
    # told both are missing, as api_authorization.ts lists every unmet privilege it checked.
    ("GET", "/api/workflows"): ("workflowsManagement:read", "workflowsManagement:readExecution"),
    ("POST", "/api/workflows/workflow/{id}/run"): (
        "workflowsManagement:execute",
        "workflowsManagement:read",
    ),
    ("POST", "/api/workflows/test"): ("workflowsManagement:execute", "workflowsManagement:read"),
    ("POST", "/api/workflows/executions/{executionId}/resume"): ("workflowsManagement:execute",),
    ("POST", "/api/workflows/executions/{executionId}/cancel"): (
        "workflowsManagement:cancelExecution",
    ),
}
"""Kibana privileges each route requires (``x-stepspec-privileges`` in ``openapi.yaml``)."""


def check_space_privileges(
    ctx: MockContext, route: str, space_id: str, req: Request | None = None
) -> Response | None:
    """403 when the caller of ``req`` (default: the current request) holds a key scoped to other
    spaces than ``space_id``."""
    if not ctx.config.api_keys:
        return None
    if req is None:
        req = _current()
    found = credential(req.headers.get("Authorization"))
    key = matching_key(found, ctx.config.plain_keys) if found is not None else None
    spaces = ctx.config.key_spaces(key) if key is not None else None
    if spaces is None or space_id in spaces:
        return None
    missing = ",".join(PRIVILEGES.get((req.method, route), ()))
    path = req.path
    if path.startswith("/s/"):
        path = "/" + path.split("/", 3)[3]
    search = req.query_string.decode("latin-1")
    return error_response(
        403,
        f"API [{req.method} {path}{'?' + search if search else ''}] is unauthorized for "
        f"user, this action is granted by the Kibana privileges [{missing}]",
    )


def _current() -> Request:
    """The current Flask request (the object behind ``flask.request``)."""
    found: Request = request._get_current_object()  # type: ignore[attr-defined]
    return found


def principal() -> str:
    """Who is calling: the Basic user name, else ``elastic`` (API keys hide their owner)."""
    found = credential(request.headers.get("Authorization"))
    if found is not None and found[0] == "Basic":
        return found[1].split(":", 1)[0]
    return "elastic"


def check_xsrf() -> Response | None:
    """400 for a non-GET request without ``kbn-xsrf``."""
    if request.method not in _SAFE_METHODS and "kbn-xsrf" not in request.headers:
        return error_response(400, XSRF_MESSAGE)
    return None


def check_version(route_path: str) -> Response | None:
    """400 for an ``elastic-api-version`` other than ``2023-10-31``.

    An empty value is a malformed version (400), as the OpenAPI document's ``enum`` for the
    header says. (Kibana's router source treats a falsy value like a missing header and resolves
    the default version; the documented contract wins here.)
    """
    version = request.headers.get(VERSION_HEADER)
    if version is None or version == API_VERSION:
        return None
    if not _DATE_VERSION.fullmatch(version):
        return error_response(
            400,
            f'Invalid version. Received "{version}", expected a valid date string formatted as '
            "YYYY-MM-DD.",
        )
    return error_response(
        400,
        f'No version "{version}" available for [{request.method.lower()}] [{route_path}]. '
        f"Available versions are: [{API_VERSION}]",
    )


def check_safe_integers(req: Request | None = None) -> Response | None:
    """400 for a ``page`` beyond JavaScript's exact integers (``2**53 - 1``) in the query of
    ``req`` (default: the current request).

    Kibana parses query numbers into JavaScript numbers: a larger value is no longer the number
    the client sent, and a page that far computes an Elasticsearch ``from`` it rejects. The mock
    answers such values with config-schema's maximum message instead of echoing them.
    """
    args = (req if req is not None else _current()).args
    for name in UNBOUNDED_INTEGER_QUERY_KEYS:
        for text in args.getlist(name):
            if _beyond_safe_integers(text):
                return error_response(
                    400,
                    f"[request query.{name}]: Value must be equal to or lower than "
                    f"[{MAX_SAFE_INTEGER}].",
                )
    return None


def _beyond_safe_integers(text: str) -> bool:
    """Whether ``text`` is a whole number above ``MAX_SAFE_INTEGER`` (negative ones are left to
    the documented ``minimum``). Counts digits before converting: ``int()`` refuses texts of
    more than 4,300 digits."""
    digits = text.strip().removeprefix("+").lstrip("0")
    if not digits.isdecimal():
        return False
    return len(digits) > len(str(MAX_SAFE_INTEGER)) or int(digits) > MAX_SAFE_INTEGER


def add_version_header(response: Response) -> Response:
    """Every routed response names the version that answered."""
    response.headers[VERSION_HEADER] = API_VERSION
    return response


def describe(problem: QueryProblem) -> str:
    """One problem in Kibana config-schema wording."""
    key = f"[request {problem.location}.{problem.name}"
    if problem.index is not None:
        key += f".{problem.index}"
    key += "]"
    found = problem.found
    if problem.kind == "unknown":
        return f"{key}: definition for this key is missing"
    if problem.kind == "required":
        return f"{key}: expected value of type [{problem.expected or 'string'}] but got [undefined]"
    if problem.kind == "type":
        return f"{key}: expected value of type [{problem.expected}] but got [string]"
    if problem.kind == "maximum":
        return f"{key}: Value must be equal to or lower than [{problem.expected}]."
    if problem.kind == "minimum":
        return f"{key}: Value must be equal to or greater than [{problem.expected}]."
    if problem.kind == "enum":
        allowed = ", ".join(map(str, problem.expected))
        return f"{key}: expected value to equal one of [{allowed}] but got [{found}]"
    if problem.kind in ("maxLength", "minLength"):
        bound = "maximum" if problem.kind == "maxLength" else "minimum"
        return (
            f"{key}: value has length [{len(str(found))}] but it must have a {bound} length of "
            f"[{problem.expected}]."
        )
    if problem.kind == "maxItems":
        return f"{key}: array size is [{found}], but cannot be greater than [{problem.expected}]"
    if problem.kind == "minItems":
        return f"{key}: array size is [{found}], but cannot be smaller than [{problem.expected}]"
    if problem.kind == "pattern":
        return f'{key}: value [{found}] does not match pattern "{problem.expected}"'
    return f"{key}: {problem.describe()}"


def query_errors(problems: Sequence[QueryProblem]) -> Response:
    """Kibana reports the first validation problem."""
    return error_response(400, describe(problems[0]))
