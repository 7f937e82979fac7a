"""stepspec's conformance core: the schemas, their validators, and the checks built on them.

Importing this package is cheap: it loads only the standard library, ``jsonschema``,
``referencing``, ``yaml``, ``orjson`` (decoding bodies, once a check or the HAR reader is
loaded) and (if installed) ``jsonschema_rs``. The HTTP client, schemathesis and
the CLI are imported only when used.
"""

from __future__ import annotations

from conformance._specs import APIS, Operation, operations, schema, schema_ids
from conformance._validation import SchemaValidator, Violation, validator
from conformance.errors import (
    ConformanceFailure,
    InvalidSpec,
    SchemaNotFound,
    StepspecError,
    TargetUnreachable,
    UsageError,
)
from conformance.findings import Finding, Severity, assert_conforms
from conformance.runner import Report, RunConfig, plan, run

__all__ = [
    "APIS",
    "ConformanceFailure",
    "Finding",
    "InvalidSpec",
    "Operation",
    "Report",
    "RunConfig",
    "SchemaNotFound",
    "SchemaValidator",
    "Severity",
    "StepspecError",
    "TargetUnreachable",
    "UsageError",
    "Violation",
    "assert_conforms",
    "operations",
    "plan",
    "run",
    "schema",
    "schema_ids",
    "validator",
]
