"""The application factory: vendors mounted on one Flask app, with the app-wide behaviour.

``create_app(config)`` builds a fresh app (no globals; two apps in one process share nothing but
the read-only vocabulary). Per request, in order:

0. bound to loopback, ``_hosts.HostGuard`` answers a ``Host`` that is neither a loopback name nor
   an ``allowed_hosts`` one with a 403 in the vendor's envelope (a DNS-rebinding guard);

1. (OPTIONS preflights are answered by flask-cors and skip everything below; the CORS headers
   of other requests are added by ``_http.CorsHeaders`` at the WSGI level, byte for byte what
   flask-cors would add, without its per-request option matching.)
2. configured latency;
3. the vendor is chosen by the longest base path; an unroutable path or method goes straight to
   the error handlers (404/405 in that vendor's envelope, or a neutral body listing every API);
4. an injected fault (``error_rate``), then the vendor's ``authenticate``;
5. with ``--replay``, a recorded answer to this request (``_replay``), else with
   ``--replay-only`` the vendor's 404;
6. the vendor's own blueprint hooks (Kibana: ``kbn-xsrf``, ``elastic-api-version``);
7. the OpenAPI operation is matched, its query and path parameters checked, ``Prefer`` applied;
8. the view; then ``--validate-responses`` and CORS headers on the way out.

The hooks record what they decide (vendor, operation, checked query) in ``_state``, where the
vendors, replay and the viewer read it; none of them imports this module.

A response cache in front of Flask replays immutable answers (see ``_http``), and behind it
``_fast.FastPath`` answers the common read-only GET (a 200 of a route its vendor registered)
with the same steps 1-8 but without Flask, sending anything else on to Flask; it is not
installed with faults, latency, replay or ``--validate-responses``. So a cold request (a new id
every time, nothing cached) pays for the view, little else (``benchmarks/README.md`` has the
measurements). The Flask hooks read the request through one context lookup each and are only
registered when configured. Any exception
that escapes a view is a bug: it is logged and answered with the vendor's 500 (re-raised when
``app.testing``, so tests see the traceback), except ``StoreUnavailable``: a networked live-run
store that cannot be reached is answered 503 in the vendor's envelope, with ``Retry-After``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from mock_server._config import MockConfig
from mock_server._context import Clock, MockContext, system_clock
from mock_server._control import Faults, apply_prefer, injected_error, parse_prefer
from mock_server._fast import FastPath
from mock_server._hosts import HostGuard, guarded
from mock_server._http import (
    OPERATION_KEY,
    CachingMiddleware,
    CorsHeaders,
    ResponseCache,
    json_response,
)
from mock_server._openapi import api_index, has_spec
from mock_server._params import check_parameters
from mock_server._selfcheck import check_response

# ``EXTENSION``, ``MockState`` and ``state`` are re-exported for callers not yet reading ``_state``.
from mock_server._state import EXTENSION as EXTENSION
from mock_server._state import MockState as MockState
from mock_server._state import (
    current_operation,
    current_vendor,
    set_checked_query,
    set_operation,
    set_vendor,
)
from mock_server._state import state as state
from mock_server._vendor import Vendor, vendor_for
from mock_server.live import (
    STORE_UNAVAILABLE,
    RedisStore,
    SqliteStore,
    StoreUnavailable,
    note_outage,
    open_store,
)

if TYPE_CHECKING:
    from mock_server._replay import ReplayTable

VENDOR_MODULES = ("mock_server.kibana", "mock_server.arcee", "mock_server.trigify")
CORS_EXPOSE_HEADERS = (
    "elastic-api-version", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "RateLimit-Policy", "Retry-After", "WWW-Authenticate", "Allow", "X-Stepspec-Injected",
    "X-Stepspec-Validated", "X-Stepspec-Replayed",
)  # fmt: skip
_log = logging.getLogger("mock_server")
RETRY_AFTER_S = 1
"""``Retry-After`` of a 503 while the live-run store is unavailable."""
_UNSEEN: Any = object()


class MockFlask(Flask):
    """Flask, with ``ensure_sync`` decided once per function instead of on every call.

    Flask asks ``inspect.iscoroutinefunction`` for every hook and view on every request (nine
    times for a Kibana GET); the answer never changes for a given function object.
    """

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def make_default_options_response(self) -> Response:
        """Flask's answer to ``OPTIONS``, its ``Allow`` header in sorted order: Flask builds it
        from a set, whose order changes with each process's string hashing, and the same seed
        must give the same bytes on every worker and replica."""
        response = super().make_default_options_response()
        response.headers["Allow"] = ", ".join(sorted(response.allow))
        return response

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``Flask.ensure_sync``, cached for plain functions (bound methods are new each time)."""
        found = self._sync_functions.get(func)
        if found is not None:
            return found
        if not isinstance(func, types.FunctionType) or inspect.iscoroutinefunction(func):
            return super().ensure_sync(func)
        self._sync_functions[func] = func
        return func


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
    replay: ReplayTable | None = None,
) -> Flask:
    """Build the mock app (see the module docstring); ``clock`` is injectable for tests.

    ``replay``: the recordings of ``config.replay`` loaded already (``serve`` loads them once,
    before gunicorn forks); without it they are read here (``ConfigError`` if one is not HAR).
    """
    cfg = as_config(config)
    store = open_store(cfg)
    state_path = store.path if isinstance(store, SqliteStore) else None
    context = MockContext(cfg, store, clock or system_clock, state_path=state_path)
    app = MockFlask("mock_server")
    # An empty id (`/executions//steps`) is the vendor's 404, not Werkzeug's 308 redirect to
    # another resource with an HTML body; set before any blueprint adds its rules.
    app.url_map.merge_slashes = False
    app.config["STEPSPEC_CONFIG"] = cfg
    mounted = tuple(vendors) if vendors is not None else load_vendors()
    indexes = {v.name: api_index(v.name) for v in mounted if has_spec(v.name)}
    for vendor in mounted:
        blueprint = vendor.blueprint(context)
        app.register_blueprint(blueprint)
        # Runs after the vendor's own before_request hooks (registered with the blueprint).
        app.before_request_funcs.setdefault(blueprint.name, []).append(_operation_hook)
    faults = Faults(cfg.seed, cfg.latency_ms, cfg.error_rate)
    cache = ResponseCache(cfg.cache_size)
    inner = app.wsgi_app
    if not (faults.active or cfg.replay or cfg.validate_responses):  # read-only GETs: _fast
        inner = FastPath(app, inner)
    inner = CorsHeaders(inner, CORS_EXPOSE_HEADERS) if cfg.cors else inner
    middleware = CachingMiddleware(inner, cache, enabled=not faults.active)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.extensions[EXTENSION] = MockState(context, mounted, indexes, cache, middleware, faults)
    app.before_request(_prepare_with_faults if faults.active else _prepare)
    if cfg.replay:  # recorded answers before the vendors' hooks and views (mock_server/_replay)
        from mock_server import _replay

        table = replay if replay is not None else _replay.ReplayTable.load(cfg.replay)
        _replay.install(app, table, only=cfg.replay_only)
    if cfg.validate_responses:
        app.after_request(_validate)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(Exception, _bug)
    if cfg.cors:
        _install_cors(app)
    # -- run viewer (/_stepspec/) and per-client coverage: mock_server/viewer, coverage --
    from mock_server import coverage, viewer

    app.register_blueprint(viewer.blueprint())
    coverage.install(
        app,
        indexes=indexes,
        vendors=mounted,
        clock=context.clock,
        on_hit=middleware.on_hit,
        state_path=state_path,
        report_path=cfg.coverage_report,
        # several hosts on one Redis: the facts go there, so any replica reports them all
        store=coverage.RedisCoverageStore(store) if isinstance(store, RedisStore) else None,
    )
    if guarded(cfg.host):  # outermost: nothing (cache, coverage) sees a refused request
        guard = HostGuard(app.wsgi_app, cfg.allowed_hosts, _refusal(mounted))
        app.wsgi_app = guard  # type: ignore[method-assign]
    return app


def _refusal(vendors: Sequence[Vendor]) -> Callable[[str, str], Response]:
    """The 403 of ``HostGuard``: the envelope of the vendor owning the path, else neutral."""
    apis = {vendor.name: list(vendor.base_paths) for vendor in vendors}

    def refuse(path: str, message: str) -> Response:
        vendor = vendor_for(path, vendors)
        if vendor is not None:
            return vendor.error_response(403, message)
        body = {"statusCode": 403, "error": "Forbidden", "message": message, "apis": apis}
        return json_response(body, 403)

    return refuse


def _install_cors(app: Flask) -> None:
    """flask-cors for preflights; ``CorsHeaders`` (installed by ``create_app``) does the rest.

    flask-cors registers one ``after_request`` function (and wraps the error handlers, which
    stays as it is); that function is narrowed to ``OPTIONS`` so preflights are answered exactly
    as before while other answers skip its per-request option matching.
    """
    known = list(app.after_request_funcs.get(None, []))
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
    app.after_request_funcs[None] = [
        function if function in known else _preflight_only(function)
        for function in app.after_request_funcs[None]
    ]


def _preflight_only(function: Callable[..., Any]) -> Callable[[Response], Response]:
    def on_preflight(response: Response) -> Response:
        return function(response) if request.method == "OPTIONS" else response

    return on_preflight


def _prepare() -> Response | None:
    # One context lookup instead of one per attribute (LocalProxy's documented accessor).
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method == "OPTIONS":
        return None
    mock = state()
    vendor = vendor_for(req.path, mock.vendors)
    set_vendor(vendor)
    if vendor is None or req.routing_exception is not None:
        return None
    return vendor.authenticate(req, mock.context)


def _prepare_with_faults() -> Response | None:
    """``_prepare`` with the configured latency first and an injected error before auth."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method == "OPTIONS":
        return None
    mock = state()
    mock.faults.delay()
    vendor = vendor_for(req.path, mock.vendors)
    set_vendor(vendor)
    if vendor is None or req.routing_exception is not None:
        return None
    if mock.faults.inject_error():
        return injected_error(vendor)
    return vendor.authenticate(req, mock.context)


def _operation_hook() -> Response | None:
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method == "OPTIONS":
        return None
    vendor = current_vendor()
    if vendor is None:
        return None
    mock = state()
    index = mock.indexes.get(vendor.name)
    if index is None:
        return None
    path = req.path
    rule = req.url_rule.rule if req.url_rule is not None else path
    key = (vendor.name, rule, req.method)
    operation = mock.operations.get(key, _UNSEEN)
    if operation is _UNSEEN:  # one regex scan per route, then a dict lookup
        matched = index.match(req.method, path)
        operation = mock.operations[key] = matched[0] if matched is not None else None
    if operation is None:
        return None
    found_values = operation.pattern.fullmatch(path)
    path_values = found_values.groupdict() if found_values is not None else {}
    set_operation(operation)
    req.environ[OPERATION_KEY] = operation.operation_id
    checked = check_parameters(
        operation.parameters,
        req.args,
        path_values,
        reject_unknown=vendor.reject_unknown_query,
    )
    if checked.problems:
        if vendor.query_errors is not None:
            return vendor.query_errors(checked.problems)
        return vendor.error_response(400, checked.problems[0].describe())
    set_checked_query(checked.values)
    prefer = req.environ.get("HTTP_PREFER")
    if not prefer:
        return None
    return apply_prefer(parse_prefer(prefer), operation, vendor)


def _validate(response: Response) -> Response:
    """``--validate-responses`` (registered only when configured)."""
    if request.method == "OPTIONS":
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
            f"No API is served at {request.path}; see 'apis' for the base paths "
            "(the run viewer is at /_stepspec/)"
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


def _store_unavailable(error: StoreUnavailable) -> Response:
    """A networked live-run store is down: 503 in the vendor's envelope, one log line."""
    note_outage(error)
    vendor = current_vendor() or vendor_for(request.path, state().vendors)
    response = (
        vendor.error_response(503, STORE_UNAVAILABLE)
        if vendor
        else _neutral(503, STORE_UNAVAILABLE)
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _bug(error: Exception) -> Response:
    if current_app.testing:
        raise error
    _log.exception("stepspec mock: unexpected error on %s %s", request.method, request.path)
    vendor = current_vendor() or vendor_for(request.path, state().vendors)
    detail = f"Internal server error: {type(error).__name__}: {error}"
    return vendor.error_response(500, detail) if vendor else _neutral(500, detail)
