"""The fast path: read-only GETs of the vendors' documented routes answered in front of Flask.

A cold request (a new entity every time, nothing in the response cache) used to spend more time
in Flask and Werkzeug (request context, routing, hooks, response objects) than in the vendor's
own code. ``FastPath`` is WSGI middleware, installed by ``create_app`` directly around Flask
(inside the response cache and the CORS headers), that answers the common case itself and sends
everything else to Flask, unchanged:

- only a ``GET`` without ``Prefer``, with an ASCII ``PATH_INFO`` and no ``SCRIPT_NAME``, under a
  vendor's base path, on a route whose vendor registered a ``FastRoutes`` view for it;
- routed by the app's own Werkzeug ``Map`` (bound once), so a redirect, 404 or 405 is Flask's;
- then the same steps as the Flask path, in its order, each a way out to Flask: the vendor's
  ``prepare`` (Trigify counts the request toward its rate limit), ``Vendor.authenticate``, the
  vendor's ``admit`` (its blueprint hooks: auto runs, Kibana's space, version and safe-integer
  checks), the OpenAPI operation (the one ``_operation_hook`` would match, through the same
  ``MockState.operations`` memo) and its parameter check, and the view;
- a view answers a 200 with ``FastAnswer`` (JSON bytes, and whether the answer is immutable);
  anything else (a 404, a refused query) is left to Flask, which recomputes it.

The answer is what Flask would send byte for byte: ``200 OK``, ``Content-Type`` and
``Content-Length`` in Werkzeug's order, then the vendor's ``finish`` headers (Kibana's
``elastic-api-version``, Trigify's ``RateLimit-*``), and the environ entries the outer layers read
(``CACHEABLE_KEY``, ``OPERATION_KEY``, ``REPLAY_KEY``). Every side effect a way out may leave
behind is idempotent per request (the rate-limit count is kept in the environ, auto runs are
claimed once per time slot), so a request sent on to Flask is answered as if it had gone there
first; so is a request during which anything raises (Flask's error handlers answer it: the
vendor's 503 for an unreachable live-run store, its 500 for a bug). ``create_app`` does not
install the fast path when per-request behaviour the fast path does not model is configured
(faults, latency, replay, ``--validate-responses``), and ``tests/mock_server/test_fast_path.py``
compares both paths answer for answer.

Vendors register their routes with ``register(blueprint, FastRoutes(...))`` from their
``blueprint()``; the views are the same request-free functions their Flask views call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Request, Response
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Map, Rule

from mock_server._http import CACHEABLE_KEY, OPERATION_KEY, mark_cacheable
from mock_server._params import check_parameters
from mock_server._state import EXTENSION as STATE
from mock_server._vendor import Vendor

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask.blueprints import BlueprintSetupState

    from mock_server._openapi import OperationSpec
    from mock_server._state import MockState

EXTENSION = "stepspec_fast"
"""``app.extensions`` key: vendor name -> its ``FastRoutes`` (filled as blueprints register)."""
_UNSEEN: Any = object()
_NO_ARGS: ImmutableMultiDict[str, str] = ImmutableMultiDict()
_STATUS_200 = "200 OK"
_VARIABLE = re.compile(r"<([^<>:]+)>")
"""A rule variable with Werkzeug's default converter (``[^/]+``); any other makes a rule
opaque to ``Router``."""


@dataclass(frozen=True, slots=True)
class FastAnswer:
    """A view's 200: the JSON body, and whether the answer may be replayed (``mark_cacheable``)."""

    body: bytes
    cacheable: bool = False


FastView = Callable[[Mapping[str, str], Mapping[str, Any], "WSGIEnvironment"], Any]
"""``(path variables, checked parameters, environ)`` -> a ``FastAnswer`` for a 200; anything
else (the view's error ``Response``) sends the request to Flask."""


@dataclass(frozen=True)
class FastRoutes:
    """What one vendor lets the fast path answer (see the module docstring for the order)."""

    vendor: str
    views: Mapping[str, FastView]
    """Flask endpoint (``kibana.get_step_execution``) -> its request-free view."""
    admit: Callable[[Request, str, Mapping[str, str]], bool] = field(default=lambda *_: True)
    """The vendor's blueprint ``before_request`` hooks for ``(request, rule, path variables)``:
    False when they would answer the request themselves (it then goes to Flask)."""
    prepare: Callable[[Request], bool] | None = None
    """Run before authentication (an app-wide hook of the vendor); False: go to Flask."""
    finish: Callable[[WSGIEnvironment, list[tuple[str, str]]], None] | None = None
    """The vendor's ``after_request`` hooks: append headers, set environ entries."""


def served(result: FastAnswer | Response) -> Response:
    """A request-free view's result as its Flask view answers it (an immutable 200 marked)."""
    if not isinstance(result, FastAnswer):
        return result
    if result.cacheable:
        mark_cacheable()
    return Response(result.body, mimetype="application/json")


def register(blueprint: Blueprint, routes: FastRoutes) -> None:
    """Offer ``routes`` to the app ``blueprint`` is registered on (``app.extensions``)."""

    def record(setup: BlueprintSetupState) -> None:
        setup.app.extensions.setdefault(EXTENSION, {})[routes.vendor] = routes

    blueprint.record_once(record)


class FastPath:
    """WSGI middleware answering the read-only GETs ``FastRoutes`` allow (module docstring)."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.flask = app
        self.app = inner
        self.routes: Mapping[str, FastRoutes] = app.extensions.get(EXTENSION, {})
        self._router: Router | None = None
        self._by_base: list[tuple[str, Vendor]] | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            answer = self.answer(environ)
        except Exception:  # a store outage or a bug: Flask's handlers answer (503, 500)
            answer = None
        if answer is None:
            return self.app(environ, start_response)
        headers, body = answer
        start_response(_STATUS_200, headers)
        return [body]

    def _bases(self, mock: MockState) -> list[tuple[str, Vendor]]:
        if self._by_base is None:
            pairs = [(base, vendor) for vendor in mock.vendors for base in vendor.base_paths]
            # Longest first, ties in vendor order (a stable sort): ``vendor_for``'s choice.
            self._by_base = sorted(pairs, key=lambda pair: -len(pair[0]))
        return self._by_base

    def answer(self, environ: WSGIEnvironment) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body of a 200 for this request, or None: Flask answers it."""
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_PREFER" in environ:
            return None
        path: str = environ.get("PATH_INFO", "")
        if environ.get("SCRIPT_NAME") or not path.isascii() or path[:1] != "/" or path[:2] == "//":
            return None
        mock: MockState = self.flask.extensions[STATE]
        vendor = next((v for base, v in self._bases(mock) if path.startswith(base)), None)
        routes = self.routes.get(vendor.name) if vendor is not None else None
        if vendor is None or routes is None:
            return None
        router = self._router
        if router is None:  # built at the first request: every blueprint is registered by then
            router = self._router = Router(self.flask.url_map)
        routed = router.match(path)
        if routed is None:
            return None
        rule, view_args = routed
        view = routes.views.get(str(rule.endpoint))
        if view is None:
            return None
        request = Request(environ)
        if routes.prepare is not None and not routes.prepare(request):
            return None
        if vendor.authenticate(request, mock.context) is not None:
            return None
        if not routes.admit(request, rule.rule, view_args):
            return None
        checked: Mapping[str, Any] = {}
        index = mock.indexes.get(vendor.name)
        if index is not None:
            operation = _operation(mock, vendor.name, rule.rule, path)
            if operation is not None:
                found = operation.pattern.fullmatch(path)
                problems = check_parameters(
                    operation.parameters,
                    request.args if environ.get("QUERY_STRING") else _NO_ARGS,
                    found.groupdict() if found is not None else {},
                    reject_unknown=vendor.reject_unknown_query,
                )
                if problems.problems:
                    return None
                environ[OPERATION_KEY] = operation.operation_id
                checked = problems.values
        answered = view(view_args, checked, environ)
        if not isinstance(answered, FastAnswer):
            return None
        if answered.cacheable:
            environ[CACHEABLE_KEY] = True
        body = answered.body
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if routes.finish is not None:
            routes.finish(environ, headers)
        return headers, body


def _operation(mock: MockState, vendor: str, rule: str, path: str) -> OperationSpec | None:
    """The operation ``_app._operation_hook`` matches for this route (through the same memo)."""
    key = (vendor, rule, "GET")
    operation: OperationSpec | None = mock.operations.get(key, _UNSEEN)
    if operation is _UNSEEN:
        matched = mock.indexes[vendor].match("GET", path, route=rule)
        operation = mock.operations[key] = matched[0] if matched is not None else None
    return operation


class Router:
    """Werkzeug's routing of a GET, decided without Werkzeug where only one rule can match.

    Each rule of the app's ``Map`` whose variables all use the default converter (one path
    segment each), without defaults, host or websocket, becomes a regular expression, filed by
    its number of segments. A path matched by exactly one of them is that rule's (Werkzeug
    could only pick it, or answer 405 when it does not take GET); several candidates (a literal
    segment that is also a valid id: ``/v1/workflows/actions``) are decided by Werkzeug's own
    ``MapAdapter``, and so is any path under an opaque rule's literal prefix. No candidate
    (including a path with a trailing slash, which ``strict_slashes`` may redirect) is None, as
    is every answer that is not a GET route: Flask answers those.
    """

    def __init__(self, url_map: Map) -> None:
        self.adapter = url_map.bind("localhost")
        self.segments: dict[int, list[tuple[re.Pattern[str], Rule]]] = {}
        self.opaque: list[str] = []
        for rule in url_map.iter_rules():
            text = rule.rule
            plain = "<" not in _VARIABLE.sub("", text)
            if not plain or rule.defaults or rule.host or rule.subdomain or rule.websocket:
                self.opaque.append(text.split("<", 1)[0])
                continue
            parts = _VARIABLE.split(text)  # literal, name, literal, name, ..., literal
            regex = "".join(
                f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
            )
            self.segments.setdefault(text.count("/"), []).append((re.compile(regex), rule))

    def match(self, path: str) -> tuple[Rule, dict[str, str]] | None:
        """The GET rule answering ``path`` and its variables, or None (Flask decides)."""
        if any(path.startswith(prefix) for prefix in self.opaque):
            return self._werkzeug(path)
        found: tuple[Rule, dict[str, str]] | None = None
        for pattern, rule in self.segments.get(path.count("/"), ()):
            matched = pattern.fullmatch(path)
            if matched is not None:
                if found is not None:
                    return self._werkzeug(path)
                found = rule, matched.groupdict()
        if found is None or "GET" not in (found[0].methods or ()):
            return None
        return found

    def _werkzeug(self, path: str) -> tuple[Rule, dict[str, str]] | None:
        try:
            rule, args = self.adapter.match(path, "GET", return_rule=True)
        except Exception:  # NotFound, MethodNotAllowed, RequestRedirect: Flask's answers
            return None
        return rule, dict(args)
