"""Trigify's workflows API (workflows and executions), mocked from a seeded world.

``VENDOR`` is what ``create_app`` mounts under ``/v1``: list and get workflows, list a workflow's
executions and read one execution step by step, plus the inferred action catalogue;
``x-api-key`` authentication, ``{success, data}`` envelopes, the standard error envelope and the
documented rate limit (headers always, enforcement with ``rate_limit``). See ``_world`` for what
the world holds, ``_render`` for the payload decisions and ``_naming`` for the id scheme.
"""

from __future__ import annotations

from mock_server._vendor import Vendor
from mock_server.trigify._documented import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID
from mock_server.trigify._protocol import authenticate, error_response, query_errors
from mock_server.trigify._routes import BASE_PATH, blueprint
from mock_server.trigify._service import TrigifyService

VENDOR = Vendor(
    name="trigify",
    base_paths=(BASE_PATH,),
    blueprint=blueprint,
    error_response=error_response,
    authenticate=authenticate,
    query_errors=query_errors,
    reject_unknown_query=False,
)

__all__ = [
    "DOCUMENTED_RUN_ID",
    "DOCUMENTED_WORKFLOW_ID",
    "VENDOR",
    "TrigifyService",
]
