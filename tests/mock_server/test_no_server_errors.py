"""Hostile requests against every documented operation of every API: never a 5xx.

For each operation of each ``specs/<api>/openapi.yaml`` the sweep sends what careless or hostile
clients send: malformed ids (empty, very long, unicode, ``%00``, ``../``); huge, negative,
non-numeric and repeated values for every documented query parameter, and all numeric ones at
their limits at once; unknown query keys; wrong methods; bad, missing and duplicated credentials;
hostile values of documented headers and of ``Prefer``; broken JSON bodies for POSTs. Every
answer must be a 4xx whose JSON body is in the vendor's error envelope (the kit's
``error_schema`` of the API), or a 2xx the operation documents for that method, with its
documented body. Anything else (a 5xx above all, but also a redirect) is a bug.

The app runs with ``testing`` off, so a bug answers the vendor's 500 instead of raising: the
sweep reports every failing request of a case at once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from conformance import _specs
from conformance._operations import PROFILES, path_params
from conformance._specs import Operation
from conformance._validation import validator
from mock_server import create_app
from mock_server._config import MockConfig
from mock_server.arcee import DOCUMENTED_RUN_ID as ARCEE_RUN
from mock_server.arcee import DOCUMENTED_WORKFLOW_ID as ARCEE_WORKFLOW
from mock_server.kibana import DOCUMENTED_EXECUTION_ID, DOCUMENTED_WORKFLOW_ID
from mock_server.trigify import DOCUMENTED_RUN_ID as TRIGIFY_RUN
from mock_server.trigify import DOCUMENTED_WORKFLOW_ID as TRIGIFY_WORKFLOW

KEY = "sweep-key"
"""The only accepted key (``api_keys``), so a wrong key must be a 401."""

GOOD_IDS: dict[str, dict[str, str]] = {
    "kibana": {
        "workflowId": DOCUMENTED_WORKFLOW_ID,
        "id": DOCUMENTED_WORKFLOW_ID,
        "executionId": DOCUMENTED_EXECUTION_ID,
        "stepExecutionId": "step-exec-001",
        "space_id": "default",
    },
    "arcee": {"workflow_id": ARCEE_WORKFLOW, "run_id": ARCEE_RUN},
    "trigify": {"id": TRIGIFY_WORKFLOW, "runId": TRIGIFY_RUN},
}
"""Ids of the vendors' documented examples: every path resolves with them."""

EMPTYING_IDS = ("", "../")
"""Segments that leave an empty segment (``/executions//steps``) in the path."""
HOSTILE_IDS = (
    "x" * 5000,
    "ünïcødé-✓-🙂",
    "%00",
    "a%00b",
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%",
    "%zz",
    "%FF%FE",
    " ",
    "null",
    "-1",
    "0",
    "99999999999999999999999999",
    "{id}",
    "<script>",
    "'; DROP TABLE runs; --",
    "a;b=c",
    "a?b",
)
"""Path segments (already percent-encoded where meant: ``%00`` reaches the app as NUL)."""

HOSTILE_QUERY_VALUES = (
    "",
    "-1",
    "0",
    "-99999999999999999999999999",
    "99999999999999999999999999",
    str(2**63),
    str(2**64 + 1),
    "1e309",
    "1e-309",
    "-0",
    "NaN",
    "Infinity",
    "-inf",
    "abc",
    "1.5",
    "0x10",
    "1_000",
    "\uff11\uff12",  # full-width "12": str.isdigit() says yes and int() agrees
    "%00",
    "true",
    "null",
    "[]",
    "ü",
    "x" * 5000,
)
"""Raw query values (percent-encoded where meant)."""


@dataclass(frozen=True)
class Probe:
    """One hostile request."""

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str | None = "application/json"

    def label(self) -> str:
        """``GET /v1/workflows?limit=-1`` (long parts shortened)."""
        url = self.path + (f"?{self.query}" if self.query else "")
        text = f"{self.method} {_short(url)}"
        if self.body is not None:
            text += f" body={_short(repr(self.body))}"
        names = sorted({name for name, _ in self.headers})
        return f"{text} headers={names}"


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


@dataclass
class Case:
    """A group of probes against one operation (one pytest case)."""

    api: str
    operation: Operation
    category: str
    probes: list[Probe] = field(default_factory=list)

    @property
    def id(self) -> str:
        """``trigify-listWorkflows-query-limit``."""
        return f"{self.api}-{self.operation.operation_id}-{self.category}"


# -- building the probes -------------------------------------------------------------------------


def _path(operation: Operation, ids: dict[str, str]) -> str:
    path = operation.path
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def _auth(api: str, key: str = KEY) -> tuple[tuple[str, str], ...]:
    return tuple(PROFILES[api].credential(key).items())


def _base_headers(api: str, operation: Operation) -> tuple[tuple[str, str], ...]:
    extra = (("kbn-xsrf", "true"),) if api == "kibana" and operation.method != "get" else ()
    return _auth(api) + extra


def _valid_body(operation: Operation) -> bytes | None:
    """A documented valid request body (the first valid fixture of its schema), if any."""
    if operation.request_schema_id is None:
        return b"{}" if operation.method == "post" else None
    api, name = _specs.split_schema_id(operation.request_schema_id)
    folder = resources.files("conformance.fixtures") / api / name / "valid"
    first = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".json")),
                   key=lambda entry: entry.name)[0]  # fmt: skip
    return first.read_bytes()


def _probe(api: str, operation: Operation, **changes: Any) -> Probe:
    base: dict[str, Any] = {
        "method": operation.method.upper(),
        "path": _path(operation, GOOD_IDS[api]),
        "headers": _base_headers(api, operation),
        "body": _valid_body(operation),
    }
    return Probe(**{**base, **changes})


def _id_probes(api: str, operation: Operation, values: tuple[str, ...]) -> list[Probe]:
    probes = []
    names = [*path_params(operation), *(["space_id"] if "{space_id}" in operation.path else [])]
    for name in names:
        for value in values:
            ids = {**GOOD_IDS[api], name: value}
            probes.append(_probe(api, operation, path=_path(operation, ids)))
    return probes


def _query_probes(api: str, operation: Operation, name: str) -> list[Probe]:
    probes = [_probe(api, operation, query=f"{name}={value}") for value in HOSTILE_QUERY_VALUES]
    probes += [
        _probe(api, operation, query=f"{name}=1&{name}=-1"),
        _probe(api, operation, query="&".join(f"{name}={i}" for i in range(300))),
        _probe(api, operation, query=f"{name}"),
        _probe(api, operation, query=f"{name}[]=1"),
        _probe(api, operation, query=f"{name}[a]=1"),
    ]
    return probes


BIG_NUMBERS = ("1", str(2**31), str(2**53 - 1), str(2**63 - 1), str(2**63), str(10**30))
"""Numbers around the limits of JS, SQLite and C integers (combined: page x size overflows)."""


def _numeric_query(operation: Operation) -> list[Mapping[str, Any]]:
    numeric = []
    for param in operation.parameters:
        schema = param.get("schema") or {}
        if param.get("in") == "query" and schema.get("type") in ("integer", "number"):
            numeric.append(param)
    return numeric


def _extreme_probes(api: str, operation: Operation) -> list[Probe]:
    """Every numeric query parameter at once, at its documented maximum or a big number."""
    params = _numeric_query(operation)
    choices = [
        [*BIG_NUMBERS, *([str(p["schema"]["maximum"])] if "maximum" in p["schema"] else [])]
        for p in params
    ]
    return [
        _probe(
            api,
            operation,
            query="&".join(f"{p['name']}={v}" for p, v in zip(params, combo, strict=True)),
        )
        for combo in itertools.product(*choices)
    ]


def _unknown_query_probes(api: str, operation: Operation) -> list[Probe]:
    queries = (
        "unknown=1",
        "__proto__=x",
        "constructor[prototype]=x",
        "a[b][c]=1",
        "%00=%00",
        "=",
        "&&&",
        "ü=ü",
        "&".join(f"k{i}=v" for i in range(500)),
        "x=" + "y" * 20_000,
    )
    return [_probe(api, operation, query=query) for query in queries]


def _method_probes(api: str, operation: Operation) -> list[Probe]:
    others = {"GET", "POST", "PUT", "DELETE", "PATCH"} - {operation.method.upper()}
    return [_probe(api, operation, method=method) for method in sorted(others)]


def _auth_probes(api: str, operation: Operation) -> list[Probe]:
    profile = PROFILES[api]
    header = profile.auth_header
    extra = tuple(h for h in _base_headers(api, operation) if h[0].lower() != header.lower())
    good = _auth(api)[0]
    variants: list[tuple[tuple[str, str], ...]] = [
        (),
        ((header, ""),),
        ((header, " "),),
        ((header, profile.auth_scheme),),
        ((header, "Basic Zm9vOmJhcg=="),),
        ((header, "Bearer " if profile.auth_scheme != "Bearer" else "ApiKey " + KEY),),
        _auth(api, "wrong-key"),
        _auth(api, "x" * 10_000),
        _auth(api, "k\u00e9y"),  # latin-1, as HTTP header bytes allow
        _auth(api, KEY + "\t"),
        ((header, f"{good[1]},{good[1]}"),),
        (good, good),
        (good, (header, "wrong")),
        ((header, "wrong"), good),
        (("Authorization", "Bearer x"), ("x-api-key", "y"), ("Authentication", "z")),
    ]
    return [_probe(api, operation, headers=variant + extra) for variant in variants]


def _body_probes(api: str, operation: Operation) -> list[Probe]:
    bodies: list[tuple[bytes | None, str | None]] = [
        (b"", "application/json"),
        (None, None),
        (b"{", "application/json"),
        (b"{'a': 1}", "application/json"),
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b"1", "application/json"),
        (b'"text"', "application/json"),
        (b"true", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'{"a": NaN}', "application/json"),
        (b'{"a": 1e999}', "application/json"),
        (b'{"a": 1, "a": 2}', "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "application/json"),
        (json.dumps({"x": "y" * 1_000_000}).encode(), "application/json"),
        (b'{"inputs": null, "input": null, "workflowYaml": null, "workflowId": null}', None),
        (b'{"inputs": [], "input": 5, "workflowYaml": 5, "workflowId": {}}', "application/json"),
        (b"{}", "text/plain"),
        (b"a=1&b=2", "application/x-www-form-urlencoded"),
        (b"{}", "application/json; charset=latin-1"),
        (b"{}", "multipart/form-data; boundary=x"),
    ]
    return [
        _probe(api, operation, body=body, content_type=content_type)
        for body, content_type in bodies
    ]


HOSTILE_HEADER_VALUES = ("", " ", "x" * 8000, "9999-99-99", "2023-10-31, 2023-10-31", "\u00ff")
HOSTILE_PREFER = (
    "",
    "code=",
    "code=abc",
    "code=99999999999999999999",
    "code=-1",
    "code=200, code=404",
    "example=",
    "example=nope",
    "example=" + "x" * 5000,
    "code=200; example=\u00ff",
    "====",
    ",,,",
)
"""``Prefer`` values that name no documented status or example (a documented 5xx is excluded:
asking for it is asking for a 5xx)."""


def _header_probes(api: str, operation: Operation, name: str) -> list[Probe]:
    base = tuple(h for h in _base_headers(api, operation) if h[0].lower() != name.lower())
    probes = [
        _probe(api, operation, headers=(*base, (name, value))) for value in HOSTILE_HEADER_VALUES
    ]
    probes.append(_probe(api, operation, headers=(*base, (name, "a"), (name, "b"))))
    return probes


def _prefer_probes(api: str, operation: Operation) -> list[Probe]:
    base = _base_headers(api, operation)
    return [_probe(api, operation, headers=(*base, ("Prefer", value))) for value in HOSTILE_PREFER]


def _cases() -> Iterator[Case]:
    for api in _specs.APIS:
        for operation in _specs.operations(api):
            if "{" in operation.path:
                yield Case(api, operation, "path-ids", _id_probes(api, operation, HOSTILE_IDS))
                emptying = _id_probes(api, operation, EMPTYING_IDS)
                yield Case(api, operation, "path-empty-segment", emptying)
            for param in operation.parameters:
                if param.get("in") == "query":
                    name = str(param["name"])
                    probes = _query_probes(api, operation, name)
                    yield Case(api, operation, f"query-{name}", probes)
            if len(_numeric_query(operation)) > 1:
                yield Case(api, operation, "query-extremes", _extreme_probes(api, operation))
            yield Case(api, operation, "query-unknown", _unknown_query_probes(api, operation))
            for param in operation.parameters:
                if param.get("in") == "header":
                    name = str(param["name"])
                    probes = _header_probes(api, operation, name)
                    yield Case(api, operation, f"header-{name}", probes)
            yield Case(api, operation, "prefer", _prefer_probes(api, operation))
            yield Case(api, operation, "methods", _method_probes(api, operation))
            yield Case(api, operation, "auth", _auth_probes(api, operation))
            if operation.method == "post":
                yield Case(api, operation, "body", _body_probes(api, operation))


CASES = list(_cases())


# -- sending and judging -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app for the sweep; ``testing`` off, so a bug is a 500 answer, not an exception."""
    state = Path(tmp_path_factory.mktemp("sweep")) / "state.sqlite3"
    config = MockConfig(
        seed=0,
        api_keys=(KEY,),
        workflows_per_api=6,
        runs_per_workflow=8,
        state_path=str(state),
    )
    created = create_app(config)
    _start_live_runs(created)
    return created


def _start_live_runs(app: Flask) -> None:
    """One live run per API that can start runs, so list queries also reach the live store."""
    client = app.test_client()
    for api, operation_id in (("kibana", "runWorkflow"), ("arcee", "executeWorkflow")):
        operation = _specs.operation(api, operation_id)
        response = send(client, _probe(api, operation))
        assert response.status_code == 200, response.get_data(as_text=True)


def send(client: FlaskClient, probe: Probe) -> TestResponse:
    """Send ``probe`` exactly as built (duplicate headers included)."""
    return client.open(
        probe.path,
        method=probe.method,
        query_string=probe.query or None,
        headers=list(probe.headers),
        data=probe.body,
        content_type=probe.content_type if probe.body is not None else None,
    )


def judge(case: Case, probe: Probe, response: TestResponse) -> str | None:
    """None when the answer is acceptable, else what is wrong with it."""
    status = response.status_code
    text = response.get_data(as_text=True)
    seen = f"{probe.label()} -> {status} {_short(text, 300)}"
    if 200 <= status < 300:
        key = case.operation.response_key(status)
        if probe.method.lower() != case.operation.method or key is None or key[0] != "2":
            return f"undocumented {status}: {seen}"
        schema = case.operation.responses.get(key)
        if schema and response.mimetype == "application/json":
            problems = validator(schema).violations(response.get_json())
            if problems:
                return f"2xx body breaks {schema}: {problems[0]}: {seen}"
        return None
    if not 400 <= status < 500:
        return f"not a 4xx: {seen}"
    if response.mimetype != "application/json":
        return f"4xx without a JSON body ({response.mimetype}): {seen}"
    try:
        body = json.loads(text)
    except ValueError:
        return f"4xx body is not JSON: {seen}"
    problems = validator(PROFILES[case.api].error_schema).violations(body)
    if problems:
        return f"4xx body breaks {PROFILES[case.api].error_schema}: {problems[0]}: {seen}"
    return None


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_hostile_requests_never_get_a_server_error(app: Flask, case: Case) -> None:
    client = app.test_client()
    failures = [
        failure
        for probe in case.probes
        if (failure := judge(case, probe, send(client, probe))) is not None
    ]
    assert not failures, f"{len(failures)} of {len(case.probes)} probes:\n" + "\n".join(failures)


def test_the_sweep_covers_every_operation_and_query_parameter() -> None:
    covered = {(case.api, case.operation.operation_id, case.category) for case in CASES}
    for api in _specs.APIS:
        for operation in _specs.operations(api):
            if "{" in operation.path:
                assert (api, operation.operation_id, "path-ids") in covered
            for param in operation.parameters:
                if param.get("in") == "query":
                    assert (api, operation.operation_id, f"query-{param['name']}") in covered
    assert all(case.probes for case in CASES)
