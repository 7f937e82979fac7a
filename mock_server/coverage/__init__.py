"""Per-client coverage of the mock: what each client exercised, recorded, stored and reported.

``install`` (``_recorder``) wraps a ``create_app`` app in a WSGI layer that turns every vendor
answer into facts (``_facts``: client fingerprint, operation, status, run and step states, error
case), kept in a SQLite file shared by the workers (``_store``). ``Coverage.report`` builds the
report document (``_report``) and ``render_report`` its HTML page (``_html``), both served by the
run viewer at ``/_stepspec/coverage`` and written by ``stepspec mock --coverage-report``.
The package never imports ``mock_server._app`` or the viewer: the app passes what it needs.
"""

from __future__ import annotations

from mock_server.coverage._facts import (
    ANONYMOUS,
    Fact,
    Observation,
    body_states,
    canonical_operations,
    credential_of,
    error_case,
    fingerprint,
)
from mock_server.coverage._html import render_report
from mock_server.coverage._recorder import (
    EXTENSION,
    FLUSH_DELAY_S,
    VIEWER_HEADER,
    Coverage,
    CoverageMiddleware,
    install,
)
from mock_server.coverage._redis import RedisCoverageStore
from mock_server.coverage._store import CoverageStore, FactStore, coverage_path

__all__ = [
    "ANONYMOUS",
    "EXTENSION",
    "FLUSH_DELAY_S",
    "VIEWER_HEADER",
    "Coverage",
    "CoverageMiddleware",
    "CoverageStore",
    "Fact",
    "FactStore",
    "Observation",
    "RedisCoverageStore",
    "body_states",
    "canonical_operations",
    "coverage_path",
    "credential_of",
    "error_case",
    "fingerprint",
    "install",
    "render_report",
]
