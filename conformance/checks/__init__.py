"""The registered checks, one module per family (see ``_registry`` for how checks are called).

Importing this package registers every check into ``CHECKS`` (in the order ``stepspec check
--list`` shows them). Families: ``http`` (one response at a time), ``auth``, ``not_found``,
``consistency`` (cross-endpoint, pagination, filters), ``semantics``, ``spaces`` (Kibana),
``fuzz`` (schemathesis, opt-in) and ``lifecycle`` (runs the kit starts, only with
``--allow-writes``). schemathesis itself is imported only when fuzzing runs.
"""

from __future__ import annotations

# Registration order is the order of --list and of the reports.
from conformance.checks import (
    auth,  # noqa: F401
    consistency,  # noqa: F401
    fuzz,  # noqa: F401
    http,  # noqa: F401  (imported to register its checks)
    lifecycle,  # noqa: F401  (the runner runs write checks last, whatever this order)
    lifecycle_kibana,  # noqa: F401
    not_found,  # noqa: F401
    pagination,  # noqa: F401
    semantics,  # noqa: F401
    spaces,  # noqa: F401
)
from conformance.checks._registry import CHECKS, FAMILIES, Check, check, select

__all__ = ["CHECKS", "FAMILIES", "Check", "check", "select"]
