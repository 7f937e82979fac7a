"""Findings: what the conformance kit reports, and ``assert_conforms`` for users' own tests.

A ``Finding`` is one way a payload or a server breaks the contract. Its ``title`` is stable (no
values in it) so reports group and diff well; the values go in ``path``, ``expected`` and
``found``. Checks yield findings instead of raising, so one run reports everything it saw.

Findings never hold secrets: the requests they carry were masked by the HTTP client before the
finding existed (see ``conformance._client``).
"""

from __future__ import annotations

import enum
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from conformance.errors import ConformanceFailure

if TYPE_CHECKING:
    from conformance._validation import Violation

__all__ = [
    "Finding",
    "RecordedRequest",
    "Severity",
    "assert_conforms",
    "finding_sort_key",
    "format_findings",
    "schema_findings",
    "short",
]

_repr = reprlib.Repr()
_repr.maxstring = 120
_repr.maxother = 120
_repr.maxlist = 6
_repr.maxdict = 6
_repr.maxlevel = 3


def short(value: Any) -> str:
    """A bounded ``repr`` of a user value, for ``expected``/``found`` texts."""
    return _repr.repr(value)


class Severity(enum.StrEnum):
    """How much a finding counts: errors fail a run; warnings fail it only under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class RecordedRequest:
    """A request as reports show it: method, URL and headers with every secret already masked."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    """The body that was sent (secrets masked), if any."""

    def curl(self) -> str:
        """A shell line that reproduces the request: every header and the body that were sent
        (secrets appear as placeholders)."""
        parts = ["curl", "-sS", "-X", self.method.upper(), _quote(self.url)]
        for name, value in self.headers:
            parts += ["-H", _quote(f"{name}: {value}")]
        if self.body is not None:
            parts += ["--data-binary", _quote(self.body)]
        if any(name.lower() == "accept-encoding" for name, _ in self.headers):
            parts.append("--compressed")  # the body may come back compressed, as it did
        return " ".join(parts)


def _quote(text: str) -> str:
    # Double quotes so that a ``$STEPSPEC_API_KEY`` placeholder expands in the user's shell.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    return f'"{escaped}"'


@dataclass(frozen=True)
class Finding:
    """One way the target breaks the contract."""

    check: str
    """Name of the registered check that found it."""
    title: str
    """Stable one-line summary without values (reports group by it)."""
    operation: str | None = None
    """operationId of the operation it concerns, if any."""
    path: str = "$"
    """JSON path of the offending value in the response body (``$`` for the whole response)."""
    expected: str = ""
    found: str = ""
    severity: Severity = Severity.ERROR
    inferred: bool = False
    """True when the rule rests on an inferred (non-normative) fact."""
    detail: str = ""
    """What to look at or do next, when the title, expected and found do not say it all."""
    responses: int = field(default=1, compare=False)
    """How many responses showed this problem (the runner merges repeats into one finding)."""
    request: RecordedRequest | None = field(default=None, compare=False)
    """The request that showed it, for the curl line (masked)."""
    source: str = field(default="", compare=False)
    """Where the broken rule comes from (a doc URL or ``elastic/kibana:<path>@<commit>``): the
    schema rule's nearest ``x-stepspec-source``, or the check's registered source."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the JSON report's shape of a finding)."""
        return {
            "check": self.check,
            "title": self.title,
            "severity": str(self.severity),
            "operation": self.operation,
            "path": self.path,
            "expected": self.expected,
            "found": self.found,
            "inferred": self.inferred,
            "detail": self.detail,
            "source": self.source,
            "request": None
            if self.request is None
            else {"method": self.request.method, "url": self.request.url},
            "curl": None if self.request is None else self.request.curl(),
            "responses": self.responses,
        }

    def counted(self, *, strict: bool) -> Finding:
        """This finding as the verdict counts it: inferred warnings become errors under strict."""
        if strict and self.severity is Severity.WARNING:
            return replace(self, severity=Severity.ERROR)
        return self

    def __str__(self) -> str:
        where = f" [{self.operation}]" if self.operation else ""
        text = f"{self.severity}: {self.check}{where}: {self.title} at {self.path}"
        if self.expected or self.found:
            text += f"\n    expected: {self.expected}\n    found:    {self.found}"
        if self.responses > 1:
            text += f"\n    seen in {self.responses} responses"
        if self.detail:
            text += f"\n    {self.detail}"
        if self.source:
            text += f"\n    rule from: {self.source}"
        return text


def finding_sort_key(finding: Finding) -> tuple[str, str, str, str, str, str]:
    """Deterministic report order: check, operation, path, title, then values."""
    return (
        finding.check,
        finding.operation or "",
        finding.path,
        finding.title,
        finding.expected,
        finding.found,
    )


def format_findings(findings: Sequence[Finding], *, limit: int = 20) -> str:
    """A readable multi-line listing (used by ``ConformanceFailure`` messages)."""
    ordered = sorted(findings, key=finding_sort_key)
    lines = [str(finding) for finding in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more")
    return "\n".join(lines)


_RESTATED_KEYWORDS = frozenset({"required", "type", "enum", "format"})
"""Keywords whose ``expected``/``found`` say all the validator's message says."""


def schema_findings(
    payload: Any,
    schema_id: str,
    *,
    check: str = "body_matches_schema",
    operation: str | None = None,
    request: RecordedRequest | None = None,
    base_path: str = "$",
) -> Iterable[Finding]:
    """One finding per violation of ``schema_id`` by ``payload``; inferred ones are warnings.

    Violations that read the same (jsonschema reports ``required`` once per missing property,
    while ``found`` already lists them all) are one finding, normative if any of them is. The
    validator's own message is kept only where ``expected``/``found`` do not already say it.
    """
    from conformance import _specs
    from conformance._validation import validator

    api, name = _specs.split_schema_id(schema_id)
    unrecorded = f"specs/{api}/{name}.json (no x-stepspec-source recorded)"
    distinct: dict[tuple[str, str, str, str], Violation] = {}
    for violation in validator(schema_id).violations(payload):
        key = (violation.path, violation.keyword, violation.expected, violation.found)
        if key not in distinct or (distinct[key].inferred and not violation.inferred):
            distinct[key] = violation
    for violation in distinct.values():
        path = base_path + violation.path[1:] if violation.path.startswith("$") else violation.path
        said = violation.keyword in _RESTATED_KEYWORDS
        yield Finding(
            check=check,
            title=f"body breaks schema rule '{violation.keyword}'",
            operation=operation,
            path=path,
            expected=violation.expected,
            found=violation.found,
            severity=Severity.WARNING if violation.inferred else Severity.ERROR,
            inferred=violation.inferred,
            detail=f"schema {schema_id}" if said else f"{violation.message} (schema {schema_id})",
            request=request,
            source=violation.source or unrecorded,
        )


def assert_conforms(payload: Any, schema_id: str, *, strict: bool = True) -> None:
    """Raise ``ConformanceFailure`` unless ``payload`` conforms to the shipped schema ``schema_id``.

    With ``strict=True`` (the default) inferred rules count too; with ``strict=False`` only the
    vendor-documented rules do. The exception carries the findings and lists them readably::

        from conformance import assert_conforms
        assert_conforms(response.json(), "urn:stepspec:kibana:step-execution")
    """
    findings = [
        finding.counted(strict=strict)
        for finding in schema_findings(payload, schema_id, check="assert_conforms")
    ]
    errors = [finding for finding in findings if finding.severity is Severity.ERROR]
    if errors:
        message = (
            f"payload does not conform to {schema_id} "
            f"({len(errors)} violation{'s' if len(errors) != 1 else ''}):\n"
            + format_findings(errors)
        )
        raise ConformanceFailure(message, errors)
