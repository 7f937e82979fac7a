"""Schemathesis 4 against the in-process app, for every operation of every API: no failure allowed.

All of schemathesis's checks run on every response (server errors, status codes, content types,
headers, response schemas, negative data rejected, positive data accepted, auth ignored, ...),
with positive and negative data, once with generated path ids (mostly unknown: 404s) and once
with the ids of real workflows, runs and steps pinned (200s with real payloads).

Credentials (and Kibana's ``kbn-xsrf``) are sent by the test, not generated: a generated API key
can only be rejected, and a negative mutation of a header the test sets itself would be undone
by the test. Arcee (FastAPI) and Trigify (Express) ignore undocumented query keys, as the mock
does, so no extra query parameters are generated for them; Kibana rejects them, so it gets them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks

from conformance import _specs
from mock_server import create_app

KEY = "schemathesis-key"


def kibana_ids(client: FlaskClient, headers: dict[str, str]) -> dict[str, str]:
    """A workflow, one of its completed executions and one of its steps, in `default`."""
    workflows = client.get("/api/workflows", headers=headers).get_json()["results"]
    workflow_id = workflows[2]["id"]
    runs = client.get(
        f"/api/workflows/workflow/{workflow_id}/executions?statuses=completed", headers=headers
    ).get_json()["results"]
    execution_id = runs[0]["id"]
    steps = client.get(f"/api/workflows/executions/{execution_id}/steps", headers=headers)
    return {
        "workflowId": workflow_id,
        "id": workflow_id,
        "executionId": execution_id,
        "stepExecutionId": steps.get_json()["results"][0]["id"],
        "space_id": "default",
    }


def arcee_ids(client: FlaskClient, headers: dict[str, str]) -> dict[str, str]:
    workflows = client.get("/api/v1/workflow/workflows", headers=headers).get_json()
    workflow_id = workflows[1]["workflow_id"]
    runs = client.get(f"/api/v1/workflow/workflows/{workflow_id}/runs", headers=headers)
    return {"workflow_id": workflow_id, "run_id": runs.get_json()[0]["id"]}


def trigify_ids(client: FlaskClient, headers: dict[str, str]) -> dict[str, str]:
    listing = client.get("/v1/workflows?status=PUBLISHED", headers=headers).get_json()
    workflow_id = listing["data"]["items"][1]["id"]
    runs = client.get(f"/v1/workflows/{workflow_id}/executions", headers=headers).get_json()
    return {"id": workflow_id, "runId": runs["data"]["executions"][0]["run_id"]}


@dataclass(frozen=True)
class Profile:
    """How one API is fuzzed: its credentials, world, generation settings and real ids."""

    headers: dict[str, str]
    world: dict[str, int]
    examples: int
    real_ids: Callable[[FlaskClient, dict[str, str]], dict[str, str]]
    extra_query_parameters: bool = False
    operations: list[dict[str, Any]] = field(default_factory=list)


PROFILES = {
    "kibana": Profile(
        headers={"Authorization": f"ApiKey {KEY}", "kbn-xsrf": "true"},
        world={"seed": 5, "workflows_per_api": 9, "runs_per_workflow": 6},
        examples=15,
        real_ids=kibana_ids,
        extra_query_parameters=True,
        # Schema-valid bodies of a test run may hold YAML that is no workflow: Kibana's
        # documented answer is 400 `Invalid workflow yaml: ...`. Likewise a schema-valid date
        # bound (a string) of the execution lists may be no date: Elasticsearch cannot parse
        # it, and Kibana answers 400 `failed to parse date field [...]`.
        operations=[
            {
                "include-operation-id": [
                    "testWorkflow",
                    "testWorkflowInSpace",
                    "getWorkflowExecutions",
                    "getWorkflowExecutionsInSpace",
                    "getWorkflowStepExecutions",
                    "getWorkflowStepExecutionsInSpace",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404"]
                    }
                },
            }
        ],
    ),
    "arcee": Profile(
        headers={"Authorization": f"Bearer {KEY}"},
        world={"seed": 21, "workflows_per_api": 4, "runs_per_workflow": 6},
        examples=40,
        real_ids=arcee_ids,
    ),
    "trigify": Profile(
        headers={"x-api-key": KEY},
        world={"seed": 21, "workflows_per_api": 4, "runs_per_workflow": 6},
        examples=40,
        real_ids=trigify_ids,
    ),
}


_apps: dict[str, Flask] = {}
_schemas: dict[str, Any] = {}
_ids: dict[str, dict[str, str]] = {}


def app_for(api: str, state_dir: Path) -> Flask:
    """One app per API (each profile has its own world), built once per session."""
    if api not in _apps:
        state = state_dir / f"{api}.sqlite3"
        world = PROFILES[api].world
        created = create_app({**world, "api_keys": KEY, "state_path": str(state)})
        created.testing = True
        _apps[api] = created
    return _apps[api]


def schema_for(api: str, app: Flask) -> Any:
    if api not in _schemas:
        profile = PROFILES[api]
        config = schemathesis.Config.from_dict(
            {
                "generation": {
                    "with-security-parameters": False,
                    "allow-extra-parameters": profile.extra_query_parameters,
                },
                "operations": profile.operations,
            }
        )
        with _specs.openapi_path(api) as path:
            loaded = schemathesis.openapi.from_path(path, config=config)
        loaded.app = app
        _schemas[api] = loaded
    return _schemas[api]


def ids_for(api: str, app: Flask) -> dict[str, str]:
    if api not in _ids:
        _ids[api] = PROFILES[api].real_ids(app.test_client(), PROFILES[api].headers)
    return _ids[api]


def all_checks() -> list[Any]:
    load_all_checks()
    return [check for check in CHECKS.get_all() if not is_check_class(check)]


def has_ids(path: str) -> bool:
    return "{" in path.replace("{space_id}", "")


CASES = [
    pytest.param(api, op.operation_id, pinned, id=f"{api}-{op.operation_id}-{kind}-ids")
    for api in PROFILES
    for op in _specs.operations(api)
    for pinned, kind in ((False, "any"), (True, "real"))
    if not pinned or has_ids(op.path)
]


@pytest.mark.parametrize(("api", "operation_id", "pinned"), CASES)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_failure(
    tmp_path_factory: pytest.TempPathFactory,
    api: str,
    operation_id: str,
    mode: GenerationMode,
    pinned: bool,
) -> None:
    profile = PROFILES[api]
    app = app_for(api, tmp_path_factory.getbasetemp())
    operation = schema_for(api, app).find_operation_by_id(operation_id)
    names = {p.name for p in operation.path_parameters}
    pinned_ids = {k: v for k, v in ids_for(api, app).items() if k in names} if pinned else None
    checks = all_checks()
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned_ids)

    @settings(
        max_examples=profile.examples,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(headers=profile.headers, checks=checks)

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (no parameters, no body).
        assert mode is GenerationMode.NEGATIVE
