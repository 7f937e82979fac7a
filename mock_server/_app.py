"""The application factory: vendors mounted on one Flask app, with the app-wide behaviour.

``create_app(config)`` builds a fresh app (no globals; two apps in one process share nothing but
the read-only vocabulary). Per request, in order:

1. (OPTIONS preflights are answered by flask-cors and skip everything below.)
2. configured latency;
3. the vendor is chosen by the longest base path; an unroutable path or method goes straight to
   the error handlers (404/405 in that vendor's envelope, or a neutral body listing every API);
4. an injected fault (``error_rate``), then the vendor's ``authenticate``;
5. the vendor's own blueprint hooks (Kibana: ``kbn-xsrf``, ``elastic-api-version``);
6. the OpenAPI operation is matched, its query and path parameters checked, ``Prefer`` applied;
7. the view; then ``--validate-responses`` and CORS headers on the way out.

A response cache in front of Flask replays immutable answers (see ``_http``). Any exception
that escapes a view is a bug: it is logged and answered with the vendor's 500 (re-raised when
``app.testing``, so tests see the traceback).
"""

from __future__ import annotations

import importlib
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from mock_server._config import MockConfig
from mock_server._context import Clock, MockContext, system_clock
from mock_server._control import Faults, apply_prefer, injected_error, parse_prefer
from mock_server._http import OPERATION_KEY, CachingMiddleware, ResponseCache, json_response
from mock_server._openapi import ApiIndex, OperationSpec, api_index, has_spec
from mock_server._params import check_parameters
from mock_server._selfcheck import check_response
from mock_server._vendor import Vendor, vendor_for
from mock_server.live import SqliteStore

VENDOR_MODULES = ("mock_server.kibana", "mock_server.arcee", "mock_server.trigify")
EXTENSION = "stepspec"
CORS_EXPOSE_HEADERS = (
    "elastic-api-version", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "RateLimit-Policy", "Retry-After", "WWW-Authenticate", "Allow", "X-Stepspec-Injected",
    "X-Stepspec-Validated",
)  # fmt: skip
_log = logging.getLogger("mock_server")


@dataclass
class MockState:
    """What the app keeps about itself (``app.extensions["stepspec"]``)."""

    context: MockContext
    vendors: tuple[Vendor, ...]
    indexes: Mapping[str, ApiIndex]
    cache: ResponseCache
    middleware: CachingMiddleware
    faults: Faults
    operations: dict[tuple[str, str, str], OperationSpec | None] = field(default_factory=dict)
    """(vendor, Flask rule, method) -> the OpenAPI operation it implements."""


def load_vendors(modules: Sequence[str] = VENDOR_MODULES) -> tuple[Vendor, ...]:
    """The ``VENDOR`` of each vendor package; a package without one is a bug, not a skip."""
    found = []
    for name in modules:
        vendor = getattr(importlib.import_module(name), "VENDOR", None)
        if not isinstance(vendor, Vendor):
            raise TypeError(f"{name}.VENDOR must be a mock_server._vendor.Vendor, got {vendor!r}")
        found.append(vendor)
    return tuple(found)


def as_config(config: Mapping[str, Any] | MockConfig | None) -> MockConfig:
    """A ``MockConfig`` from a config, a mapping, or (None) the ``STEPSPEC_*`` environment."""
    if isinstance(config, MockConfig):
        return config
    if config is None:
        return MockConfig.from_env(os.environ)
    return MockConfig.from_mapping(config)


def create_app(
    config: Mapping[str, Any] | MockConfig | None = None,
    *,
    clock: Clock | None = None,
    vendors: Sequence[Vendor] | None = None,
) -> Flask:
    """Build the mock app (see the module docstring); ``clock`` is injectable for tests."""
    cfg = as_config(config)
    state_path = cfg.state_path or os.path.join(
        tempfile.mkdtemp(prefix="stepspec-mock-"), "state.sqlite3"
    )
    context = MockContext(cfg, SqliteStore(state_path), clock or system_clock)
    app = Flask("mock_server")
    app.config["STEPSPEC_CONFIG"] = cfg
    mounted = tuple(vendors) if vendors is not None else load_vendors()
    indexes = {v.name: api_index(v.spec_name) for v in mounted if has_spec(v.spec_name)}
    for vendor in mounted:
        blueprint = vendor.blueprint(context)
        app.register_blueprint(blueprint)
        # Runs after the vendor's own before_request hooks (registered with the blueprint).
        app.before_request_funcs.setdefault(blueprint.name, []).append(_operation_hook)
    faults = Faults(cfg.seed, cfg.latency_ms, cfg.error_rate)
    cache = ResponseCache(cfg.cache_size)
    middleware = CachingMiddleware(app.wsgi_app, cache, enabled=not faults.active)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.extensions[EXTENSION] = MockState(context, mounted, indexes, cache, middleware, faults)
    app.before_request(_prepare)
    app.after_request(_validate)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _bug)
    if cfg.cors:
        CORS(
            app,
            origins="*",
            # Reflect whatever the page asks for: vendor auth spellings (Arcee's docs also say
            # ``Authentication``) and the tracing headers frontend SDKs add (traceparent, baggage).
            allow_headers="*",
            # Lets fetch(credentials: "include") and axios withCredentials read responses; with
            # credentials flask-cors echoes the request's Origin instead of ``*``.
            supports_credentials=True,
            expose_headers=list(CORS_EXPOSE_HEADERS),
            max_age=600,
            vary_header=True,
        )
    # -- run viewer (/_stepspec/) and per-client coverage: mock_server/viewer, _coverage --
    from mock_server import _coverage, viewer

    app.register_blueprint(viewer.blueprint())
    _coverage.install(app)
    return app


def state() -> MockState:
    """The current app's ``MockState``."""
    found: MockState = current_app.extensions[EXTENSION]
    return found


def current_vendor() -> Vendor | None:
    """The vendor that owns the current request's path (None: no API lives there)."""
    vendor: Vendor | None = g.get("stepspec_vendor")
    return vendor


def current_operation() -> OperationSpec | None:
    """The OpenAPI operation matched for the current request, if any."""
    operation: OperationSpec | None = g.get("stepspec_operation")
    return operation


def checked_query() -> Mapping[str, Any]:
    """The current request's query and path values, coerced to their documented types."""
    values: Mapping[str, Any] = g.get("stepspec_query", {})
    return values


def _prepare() -> Response | None:
    if request.method == "OPTIONS":
        return None
    mock = state()
    mock.faults.delay()
    vendor = vendor_for(request.path, mock.vendors)
    g.stepspec_vendor = vendor
    request.environ["stepspec.vendor"] = vendor.name if vendor else None
    if vendor is None or request.routing_exception is not None:
        return None
    if mock.faults.inject_error():
        return injected_error(vendor)
    return vendor.authenticate(request, mock.context)


def _operation_hook() -> Response | None:
    vendor = current_vendor()
    if request.method == "OPTIONS" or vendor is None:
        return None
    mock = state()
    index = mock.indexes.get(vendor.name)
    if index is None:
        return None
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    key = (vendor.name, rule, request.method)
    if key not in mock.operations:  # one regex scan per route, then a dict lookup
        matched = index.match(request.method, request.path)
        mock.operations[key] = matched[0] if matched is not None else None
    operation = mock.operations[key]
    if operation is None:
        return None
    found_values = operation.pattern.fullmatch(request.path)
    path_values = found_values.groupdict() if found_values is not None else {}
    g.stepspec_operation = operation
    request.environ[OPERATION_KEY] = operation.operation_id
    checked = check_parameters(
        operation.parameters,
        request.args,
        path_values,
        reject_unknown=vendor.reject_unknown_query,
    )
    if checked.problems:
        if vendor.query_errors is not None:
            return vendor.query_errors(checked.problems)
        return vendor.error_response(400, checked.problems[0].describe())
    g.stepspec_query = checked.values
    return apply_prefer(parse_prefer(request.headers.get("Prefer")), operation, vendor)


def _validate(response: Response) -> Response:
    if not state().context.config.validate_responses or request.method == "OPTIONS":
        return response
    vendor, operation = current_vendor(), current_operation()
    if vendor is None or operation is None:
        return response
    return check_response(response, operation, vendor)


def _neutral(status: int, message: str) -> Response:
    apis = {vendor.name: list(vendor.base_paths) for vendor in state().vendors}
    return json_response(
        {"statusCode": status, "error": _reason(status), "message": message, "apis": apis}, status
    )


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    vendor = current_vendor() or vendor_for(request.path, state().vendors)
    if vendor is None:
        message = (
            f"No API is served at {request.path}; see 'apis' for the base paths"
            if status == 404
            else error.description or _reason(status)
        )
        response = _neutral(status, message)
    else:
        response = vendor.error_response(status)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        methods = sorted(set(error.valid_methods) - {"HEAD", "OPTIONS"})
        response.headers["Allow"] = ", ".join(methods)
    return response


def _bug(error: Exception) -> Response:
    if current_app.testing:
        raise error
    _log.exception("stepspec mock: unexpected error on %s %s", request.method, request.path)
    vendor = current_vendor() or vendor_for(request.path, state().vendors)
    detail = f"Internal server error: {type(error).__name__}: {error}"
    return vendor.error_response(500, detail) if vendor else _neutral(500, detail)
