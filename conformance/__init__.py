"""stepspec's conformance core: the schemas, their validators, and the checks built on them.

Importing this package is cheap: it loads only the standard library, ``jsonschema``,
``referencing``, ``yaml`` and (if installed) ``jsonschema_rs``. The HTTP client, schemathesis and
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

__all__ = [
    "APIS",
    "ConformanceFailure",
    "InvalidSpec",
    "Operation",
    "SchemaNotFound",
    "SchemaValidator",
    "StepspecError",
    "TargetUnreachable",
    "UsageError",
    "Violation",
    "operations",
    "schema",
    "schema_ids",
    "validator",
]
