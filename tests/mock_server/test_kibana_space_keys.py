"""Keys scoped to Kibana spaces (``--api-key KEY@space-a,space-b``): another space is a 403.

Kibana authorizes a route in the URL's space before the handler runs, so a key whose role grants
workflow privileges only in some spaces gets the security plugin's 403 elsewhere
(``x-pack/platform/plugins/shared/security/server/authorization/api_authorization.ts``).
"""

from __future__ import annotations

import pytest

from conformance._specs import openapi
from mock_server._config import ConfigError, MockConfig
from mock_server.kibana import DOCUMENTED_EXECUTION_ID
from mock_server.kibana._protocol import PRIVILEGES
from tests.conftest import AppFactory

SCOPED = {"Authorization": "ApiKey scoped"}
EVERYWHERE = {"Authorization": "ApiKey admin"}


def test_scoped_keys_parse_from_options_and_the_environment() -> None:
    config = MockConfig(api_keys=("scoped@default,security", "admin"))
    assert config.plain_keys == ("scoped", "admin")
    assert config.key_spaces("scoped") == frozenset({"default", "security"})
    assert config.key_spaces("admin") is None
    env = MockConfig.from_env({"STEPSPEC_API_KEYS": "scoped@default,security admin"})
    assert env.api_keys == ("scoped@default,security", "admin")
    assert MockConfig.from_env({"STEPSPEC_API_KEYS": "a,b"}).api_keys == ("a", "b")
    with pytest.raises(ConfigError, match="space ids"):
        MockConfig(api_keys=("k@Not A Space",))


def test_another_space_answers_kibanas_403(app_factory: AppFactory) -> None:
    client = app_factory(api_keys=("scoped@default", "admin")).test_client()
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}"
    assert client.get(path, headers=SCOPED).status_code == 200
    assert client.get("/s/default" + path, headers=SCOPED).status_code == 200
    refused = client.get("/s/security" + path + "?includeInput=true", headers=SCOPED)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": f"API [GET {path}?includeInput=true] is unauthorized for user, this action "
        "is granted by the Kibana privileges [workflowsManagement:readExecution]",
    }
    # A key without a scope still meets the space's own 404.
    assert client.get("/s/security" + path, headers=EVERYWHERE).status_code == 404
    run = client.post(
        "/s/security/api/workflows/workflow/anything/run",
        headers={**SCOPED, "kbn-xsrf": "x"},
        json={"inputs": {}},
    )
    assert run.status_code == 403
    assert run.get_json()["message"].endswith(
        "[workflowsManagement:execute,workflowsManagement:read]"
    )
    assert client.get(path, headers={"Authorization": "ApiKey other"}).status_code == 401


def test_the_privilege_table_is_the_openapi_documents() -> None:
    documented = {
        (method.upper(), path): tuple(operation["x-stepspec-privileges"])
        for path, item in openapi("kibana")["paths"].items()
        if not path.startswith("/s/")
        for method, operation in item.items()
        if isinstance(operation, dict) and "x-stepspec-privileges" in operation
    }
    assert documented == PRIVILEGES


def test_generated_workflows_spread_over_spaces_as_the_readme_says(
    app_factory: AppFactory,
) -> None:
    """Walkthrough row 14: `--workflows 50` listed 24 in Kibana and the README did not say why."""
    client = app_factory(workflows_per_api=50, seed=7).test_client()
    totals = {
        space: client.get(f"{space}/api/workflows?size=100", headers=EVERYWHERE).get_json()["total"]
        for space in ("", "/s/security", "/s/observability")
    }
    assert totals == {"": 24, "/s/security": 14, "/s/observability": 14}
