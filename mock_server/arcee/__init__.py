"""Arcee Orchestra's workflow API (runs and steps), mocked from a seeded world.

``VENDOR`` is what ``create_app`` mounts: the five documented operations under
``/api/v1/workflow`` (list workflows, execute, execution history, one run, steps of a run), Bearer
authentication and FastAPI-style ``{"detail": ...}`` errors. See ``_world`` for what the world
holds, ``_render`` for the payload decisions and ``_naming`` for the id scheme.
"""

from __future__ import annotations

from mock_server._vendor import Vendor
from mock_server.arcee._documented import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID
from mock_server.arcee._protocol import authenticate, error_response, query_errors
from mock_server.arcee._routes import BASE_PATH, blueprint
from mock_server.arcee._service import ArceeService

VENDOR = Vendor(
    name="arcee",
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
    "ArceeService",
]
