"""Schemathesis 4 against the in-process app, for every Trigify operation: no failure allowed.

All of schemathesis's checks run on every response (server errors, status codes, content types,
headers, response schemas, negative data rejected, positive data accepted, auth ignored, ...),
with positive and negative data, once with generated path ids (mostly unknown: 404s) and once
with the ids of real workflows and runs pinned (200s with real payloads).

Two generation settings, and why: credentials are sent by the test, not generated (a generated
API key can only be rejected, and a negative mutation of the header would be undone by the
test's own header); extra query parameters are not generated, because Trigify (Express) ignores
undocumented query keys, as the mock does. Rate limiting stays off (its 429 is tested in
test_trigify_api.py).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks

from conformance import _specs
from mock_server import create_app

KEY = "schemathesis-key"
HEADERS = {"x-api-key": KEY}
EXAMPLES = 40


@pytest.fixture(scope="module")
def app() -> Flask:
    # ``api_keys`` makes invalid credentials fail, which the ``ignored_auth`` check probes.
    return create_app({"seed": 21, "api_keys": KEY, "workflows_per_api": 4, "runs_per_workflow": 6})


@pytest.fixture(scope="module")
def schema(app: Flask) -> Any:
    config = schemathesis.Config()
    config.projects.default.generation.update(
        allow_extra_parameters=False, with_security_parameters=False
    )
    with _specs.openapi_path("trigify") as path:
        loaded = schemathesis.openapi.from_path(path, config=config)
    loaded.app = app
    return loaded


def all_checks() -> list[Any]:
    load_all_checks()
    return [check for check in CHECKS.get_all() if not is_check_class(check)]


def real_ids(app: Flask) -> dict[str, str]:
    client = app.test_client()
    listing = client.get("/v1/workflows?status=PUBLISHED", headers=HEADERS).get_json()
    workflow_id = listing["data"]["items"][1]["id"]
    runs = client.get(f"/v1/workflows/{workflow_id}/executions", headers=HEADERS).get_json()
    return {"id": workflow_id, "runId": runs["data"]["executions"][0]["run_id"]}


CASES = [
    pytest.param(op.operation_id, pinned, id=f"{op.operation_id}-{'real' if pinned else 'any'}-ids")
    for op in _specs.operations("trigify")
    for pinned in ((False, True) if "{" in op.path else (False,))
]


@pytest.mark.parametrize(("operation_id", "pinned"), CASES)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_failure(
    app: Flask, schema: Any, operation_id: str, mode: GenerationMode, pinned: bool
) -> None:
    operation = schema.find_operation_by_id(operation_id)
    names = {p.name for p in operation.path_parameters}
    path_parameters = {k: v for k, v in real_ids(app).items() if k in names} if pinned else None
    checks = all_checks()
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=EXAMPLES,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(headers=HEADERS, checks=checks)

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (no parameters, no body).
        assert mode is GenerationMode.NEGATIVE
