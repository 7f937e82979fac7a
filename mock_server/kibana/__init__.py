"""Elastic Kibana's Workflows API (executions and step executions), mocked from a seeded world.

``VENDOR`` is what ``create_app`` mounts: the ten documented operations under
``/api/workflows`` and ``/s/<space_id>/api/workflows``, ``ApiKey``/``Basic``/``Bearer``
authentication, ``kbn-xsrf`` and ``elastic-api-version`` handling, Boom errors and
config-schema validation messages. Like its siblings: ``_routes`` (thin views) -> ``_service``
(the answers) -> ``_world`` (what the world holds), ``_runs`` (how an id is resolved),
``_render`` (the payloads) and ``_protocol``; ``_documented`` holds the documented examples.
"""

from __future__ import annotations

from mock_server._vendor import Vendor
from mock_server.kibana._documented import EXECUTION_ID as DOCUMENTED_EXECUTION_ID
from mock_server.kibana._documented import WORKFLOW_ID as DOCUMENTED_WORKFLOW_ID
from mock_server.kibana._protocol import authenticate, error_response, query_errors
from mock_server.kibana._routes import blueprint

VENDOR = Vendor(
    name="kibana",
    base_paths=("/api/workflows", "/s/"),
    blueprint=blueprint,
    error_response=error_response,
    authenticate=authenticate,
    query_errors=query_errors,
    reject_unknown_query=True,
)

__all__ = ["DOCUMENTED_EXECUTION_ID", "DOCUMENTED_WORKFLOW_ID", "VENDOR"]
