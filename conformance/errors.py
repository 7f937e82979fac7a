"""The public error hierarchy of stepspec.

Everything stepspec raises on purpose derives from ``StepspecError`` and says what happened and
what to do next. A conformance *verdict* is not a crash: ``ConformanceFailure`` is an
``AssertionError`` so that pytest shows a failure, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class StepspecError(Exception):
    """Base class of every error stepspec raises deliberately."""


class SchemaNotFound(StepspecError, LookupError):
    """A schema id (or API name) that stepspec does not ship."""

    def __init__(self, wanted: str, known: Sequence[str]) -> None:
        listing = "\n  ".join(known)
        super().__init__(f"unknown schema {wanted!r}; known schemas:\n  {listing}")
        self.wanted = wanted
        self.known = tuple(known)


class InvalidSpec(StepspecError):
    """A shipped schema or OpenAPI document is broken (a bug in stepspec's data)."""


class TargetUnreachable(StepspecError):
    """The server under test cannot be reached at all."""


class UsageError(StepspecError):
    """The caller's options do not make sense together."""


class ConformanceFailure(StepspecError, AssertionError):
    """A payload or server does not conform; ``findings`` says where and how."""

    def __init__(self, message: str, findings: Sequence[Any]) -> None:
        super().__init__(message)
        self.findings = tuple(findings)
