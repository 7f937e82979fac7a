"""Before any verdict: establish that the target speaks the API, and that the user's ids exist.

A conformance finding is a claim about the server, so the kit first asks the API's discovery root
(Kibana ``GET /api/workflows``, Arcee ``GET /api/v1/workflow/workflows``, Trigify
``GET /v1/workflows``) and looks at the answer:

- no answer, or a refused credential: the run stops (exit 3) with one line that names the option
  of the front end in use (``--api-key`` in the CLI, ``--stepspec-api-key`` in pytest);
- a 2xx JSON body of the list's container type, or another status (not 404) whose body is the
  vendor's error envelope: the target speaks the API, and the checks judge everything else;
- anything else (an HTML page, a 404, a JSON body of another shape): the run stops (exit 3) with
  what was found and the likely cause (a base URL that already holds the API path, an origin
  that is not the vendor's server, a Kibana space that does not exist).

Then every id the user passed (``--workflow-id``/``--run-id``/``--step-id``) is read by id where
the API can: an id the server does not know is the user's mistake (exit 2), not a finding.
Every request goes through ``Context.get``, so discovery reuses the answers and the response
checks judge them like any other.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from conformance._client import ErrorKind
from conformance.errors import TargetUnreachable, UsageError

if TYPE_CHECKING:
    from conformance._context import Context, Exchange

VENDORS = {"kibana": "Kibana", "arcee": "Arcee Orchestra", "trigify": "Trigify"}
_CONTAINER: dict[str, tuple[type, ...]] = {
    "kibana": (dict,),
    "arcee": (list, dict),
    "trigify": (dict,),
}
"""The JSON type of the workflow list's body (Arcee answers a bare array)."""
_UNKNOWN_ID = frozenset({400, 404, 422})
"""Answers that mean "no such id" (or an id the server cannot even parse)."""


def precheck(ctx: Context) -> None:
    """Stop the run unless the target speaks the API and knows the user's ids (module doc)."""
    from conformance._discovery import LIST_QUERY

    previous, ctx.current = ctx.current, "discovery"
    try:
        operation = ctx.profile.operation("workflows")
        if operation is None:  # every API has a workflow list; a profile without one is a bug
            return
        query = LIST_QUERY.get(ctx.profile.api, {}).get("workflows", {})
        exchange = ctx.get(operation, {}, query)
        if exchange is None:
            raise TargetUnreachable(ctx.stalled or "the first request could not be sent")
        _judge_root(ctx, exchange, operation.path)
        _check_user_ids(ctx)
    finally:
        ctx.current = previous


def _judge_root(ctx: Context, exchange: Exchange, path: str) -> None:
    config, profile = ctx.config, ctx.profile
    base = ctx.client.mask(config.base_url)
    request = exchange.result.request
    shown = _shown_path(request.url, base)
    error = exchange.result.error
    if exchange.status is None or (
        error is not None and error.kind in (ErrorKind.CONNECTION, ErrorKind.TIMEOUT)
    ):
        message = error.message if error is not None else "no response"
        raise TargetUnreachable(
            f"{base} did not answer GET {shown}: {message}. Check {config.option('base-url')} "
            "and that the server is running."
        )
    status = exchange.status
    if status in (401, 403):
        scheme = f"{profile.auth_header}: {profile.auth_scheme or '<key>'} ..."
        if config.credential_headers:
            hint = (
                f"check that the key given with {config.option('api-key')} is valid for this "
                f"server and in the right scheme ({scheme})"
            )
        elif config.headers:
            hint = (
                f"check the credential given with {config.option('header')}, or pass the key "
                f"with {config.option('api-key')} (sent as {scheme})"
            )
        else:
            hint = (
                f"pass {config.option('api-key')} (or set STEPSPEC_API_KEY) or "
                f"{config.option('header')} with a credential"
            )
        raise TargetUnreachable(
            f"the server refused the first request with {status} (GET {shown}); {hint}"
        )
    body = exchange.json
    from conformance._context import NOT_JSON

    if 200 <= status < 300 and isinstance(body, _CONTAINER[profile.api]):
        return
    if status != 404 and not 200 <= status < 300 and _is_envelope(profile.error_schema, body):
        return  # the vendor's own error: the checks judge it
    media = exchange.result.response.content_type if exchange.result.response else ""
    what = f"{status} {media or 'without a Content-Type'}"
    if error is not None:
        what += f" ({error.message})"
    elif body is NOT_JSON and "json" in media:
        what += " (its body is not JSON)"
    elif 200 <= status < 300:
        what += f" (a JSON {_json_type(body)}, not the workflow list)"
    raise TargetUnreachable(f"GET {shown} answered {what}: {_likely_cause(ctx, path, status)}")


def _likely_cause(ctx: Context, path: str, status: int) -> str:
    config = ctx.config
    vendor = VENDORS[ctx.profile.api]
    base_path = urllib.parse.urlsplit(config.base_url).path.rstrip("/")
    prefix = "/" + path.strip("/").split("/", 1)[0]  # /api or /v1
    option = config.option("base-url")
    if base_path and (base_path.startswith(prefix) or prefix in base_path):
        origin = urllib.parse.urlunsplit((*urllib.parse.urlsplit(config.base_url)[:2], "", "", ""))
        return (
            f"{option} must be the {vendor} origin without {prefix}/... "
            f"(paths are appended to it); try {option} {ctx.client.mask(origin)}"
        )
    if status >= 500:
        return (
            f"the server, or a proxy in front of it, failed outside the {vendor} API's error "
            f"envelope; is the {vendor} server up and is {option} its origin?"
        )
    if config.space and status == 404:
        return f"does the Kibana space {config.space!r} ({config.option('space')}) exist?"
    return (
        f"is {option} the {vendor} origin, without {prefix}/..., and does it serve the "
        f"{vendor} API?"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)


def _is_envelope(schema_id: str, body: Any) -> bool:
    from conformance._validation import validator

    return isinstance(body, dict) and validator(schema_id).is_valid(body)


def _shown_path(url: str, base: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path if url.startswith(base) else url


def _check_user_ids(ctx: Context) -> None:
    """Read each id the user passed by id; one the server does not know is a usage error."""
    config, profile = ctx.config, ctx.profile
    # (option, value, role of the operation that reads it by id). Kibana and Arcee have no by-id
    # read of a workflow in scope: their run list of the workflow stands in (a real Kibana answers
    # an unknown workflow there with 200 and an empty list; discovery then notes it).
    from conformance._discovery import LIST_QUERY

    checks: list[tuple[str, str, str]] = []
    workflow_role = {"trigify": "workflow", "arcee": "runs", "kibana": "runs"}.get(profile.api)
    if config.workflow_id and workflow_role:
        checks.append(("workflow-id", config.workflow_id, workflow_role))
    if config.run_id:
        checks.append(("run-id", config.run_id, "run"))
    if config.step_id:
        checks.append(("step-id", config.step_id, "step"))
    values = {"workflow": config.workflow_id, "run": config.run_id, "step": config.step_id}
    from conformance._operations import path_params

    for option, value, role in checks:
        operation = profile.operation(role)  # type: ignore[arg-type]
        if operation is None:
            continue
        params: dict[str, str] = {}
        for name in path_params(operation):
            kind = profile.id_params.get(name)
            given = values.get(kind or "")
            if given is None:
                break
            params[name] = given
        else:
            exchange = ctx.get(operation, params, LIST_QUERY.get(profile.api, {}).get(role, {}))
            if exchange is not None and exchange.status in _UNKNOWN_ID:
                shown = _shown_path(exchange.result.request.url, ctx.client.mask(config.base_url))
                raise UsageError(
                    f"{config.option(option)} {value!r} is not known to the server: GET "
                    f"{shown} answered {exchange.status}; check the id"
                    + (f" and {config.option('space')}" if config.space else "")
                )
