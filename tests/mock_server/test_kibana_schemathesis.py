"""Schemathesis 4 against the in-process app, for every Kibana operation: no failure allowed.

All of schemathesis's checks run on every response, with positive and negative data, once with
generated path ids (mostly unknown: 404s) and once with the ids of a real workflow, execution
and step pinned (200s with real payloads). Credentials and ``kbn-xsrf`` are sent by the test,
not generated: a generated API key can only be rejected, and a negative mutation of a header the
test sets itself would be undone by the test.
"""

from __future__ import annotations

from pathlib import Path
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
HEADERS = {"Authorization": f"ApiKey {KEY}", "kbn-xsrf": "true"}
EXAMPLES = 15


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    state = Path(tmp_path_factory.mktemp("kibana-schemathesis")) / "state.sqlite3"
    # ``api_keys`` makes invalid credentials fail, which the ``ignored_auth`` check probes.
    settings_ = {"seed": 5, "api_keys": KEY, "workflows_per_api": 9, "runs_per_workflow": 6}
    created = create_app({**settings_, "state_path": str(state)})
    created.testing = True
    return created


@pytest.fixture(scope="module")
def schema(app: Flask) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "generation": {"with-security-parameters": False},
            # Schema-valid bodies of a test run may hold YAML that is no workflow: Kibana's
            # documented answer is 400 `Invalid workflow yaml: ...`.
            "operations": [
                {
                    "include-operation-id": ["testWorkflow", "testWorkflowInSpace"],
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404"]
                        }
                    },
                }
            ],
        }
    )
    with _specs.openapi_path("kibana") as path:
        loaded = schemathesis.openapi.from_path(path, config=config)
    loaded.app = app
    return loaded


def all_checks() -> list[Any]:
    load_all_checks()
    return [check for check in CHECKS.get_all() if not is_check_class(check)]


def real_ids(app: Flask) -> dict[str, str]:
    """Ids of a workflow, one of its (terminal) executions and one of its steps, in `default`."""
    client = app.test_client()
    workflows = client.get("/api/workflows", headers=HEADERS).get_json()["results"]
    workflow_id = workflows[2]["id"]
    runs = client.get(
        f"/api/workflows/workflow/{workflow_id}/executions?statuses=completed", headers=HEADERS
    ).get_json()["results"]
    execution_id = runs[0]["id"]
    steps = client.get(f"/api/workflows/executions/{execution_id}/steps", headers=HEADERS)
    return {
        "workflowId": workflow_id,
        "id": workflow_id,
        "executionId": execution_id,
        "stepExecutionId": steps.get_json()["results"][0]["id"],
        "space_id": "default",
    }


CASES = [
    pytest.param(op.operation_id, pinned, id=f"{op.operation_id}-{'real' if pinned else 'any'}-ids")
    for op in _specs.operations("kibana")
    for pinned in ((False, True) if "{" in op.path.replace("{space_id}", "") else (False,))
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
