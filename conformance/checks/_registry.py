"""The check registry: ``@check`` registers a small function that yields findings.

A check has a *scope*, which says how the runner calls it:

- ``response``: once per recorded exchange whose status matches ``statuses`` (``"2xx"``,
  ``"4xx"``, ``"any"``), as ``func(ctx, exchange)``; it judges one response on its own.
- ``operation``: once per applicable operation, as ``func(ctx, operation)``; it sends its own
  probes (no credential, an unknown id, ...).
- ``target``: once per run, as ``func(ctx)``; it relates several operations (consistency,
  pagination, spaces, fuzzing) and names the operation in each finding.

``applies`` decides, from the spec alone, which operations a check covers; together with the
registry it gives the static matrix of cases (check x operation) that the JUnit report and the
pytest plugin show, before any request is sent. ``source`` says where the check's rule comes
from (every check has one, see ``tests/test_provenance.py``); the runner gives it to each finding
that names no source of its own, and reports print it under ``rule from:``.

Two kinds of checks run only when asked for: ``opt_in`` ones (fuzzing, ``--fuzz N``) and
``writes`` ones (the lifecycle checks, ``--allow-writes``), which change the server's data by
starting, resuming and cancelling runs. Without ``--allow-writes`` the kit never sends a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from conformance._operations import ApiProfile
    from conformance._specs import Operation
    from conformance.findings import Finding

__all__ = ["CHECKS", "FAMILIES", "Check", "Scope", "Statuses", "check", "select"]

Scope = Literal["response", "operation", "target"]
Statuses = Literal["2xx", "4xx", "any"]
Applies = Callable[["ApiProfile", "Operation"], bool]

FAMILIES: dict[str, str] = {
    "http": "one response at a time: status, media type, body, schema, error envelope",
    "auth": "credentials: missing and made-up credentials are refused",
    "not_found": "unknown ids give the documented 404",
    "consistency": "the same entity seen through several endpoints agrees with itself",
    "semantics": "values agree with each other: timestamps, durations, statuses, indexes",
    "spaces": "Kibana spaces: the default alias and isolation between spaces",
    "fuzz": "schemathesis-generated requests (only with --fuzz N)",
    "lifecycle": "runs started by the kit: progress, end state, resume and cancel "
    "(only with --allow-writes; they start runs on the server)",
}


def _readable_gets(profile: ApiProfile, operation: Operation) -> bool:
    return operation.method == "get"


@dataclass(frozen=True)
class Check:
    """One registered check (see the module docstring for ``scope``)."""

    name: str
    description: str
    family: str
    scope: Scope
    func: Callable[..., Iterable[Finding]]
    applies: Applies = _readable_gets
    statuses: Statuses = "any"
    opt_in: bool = False
    """Opt-in checks (fuzz) run only when asked for (``--fuzz N`` or ``--checks``)."""
    writes: bool = False
    """Checks that send writes run only with ``--allow-writes`` (and send nothing without it)."""
    source: str = ""
    """Where the check's rule comes from (doc URLs, ``elastic/kibana:<path>@<ref>``); a finding
    that names no source of its own shows this one under ``rule from:``."""

    def run(self, *args: Any) -> Iterator[Finding]:
        """Call the check and iterate over its findings."""
        yield from self.func(*args)


CHECKS: dict[str, Check] = {}
"""Every registered check by name, in registration order (the order of ``--list``)."""


def check(
    name: str,
    *,
    description: str,
    family: str,
    scope: Scope = "target",
    applies: Applies | None = None,
    statuses: Statuses = "any",
    opt_in: bool = False,
    writes: bool = False,
    source: str = "",
) -> Callable[[Callable[..., Iterable[Finding]]], Callable[..., Iterable[Finding]]]:
    """Register the decorated function as the check ``name``; a duplicate name is an error."""
    if family not in FAMILIES:
        raise ValueError(f"check {name!r}: unknown family {family!r}; known: {', '.join(FAMILIES)}")

    def register(func: Callable[..., Iterable[Finding]]) -> Callable[..., Iterable[Finding]]:
        if name in CHECKS:
            raise ValueError(
                f"check {name!r} is registered twice (by {CHECKS[name].func.__module__} and "
                f"{func.__module__}); check names must be unique"
            )
        CHECKS[name] = Check(
            name=name,
            description=description,
            family=family,
            scope=scope,
            func=func,
            applies=applies or _readable_gets,
            statuses=statuses,
            opt_in=opt_in,
            writes=writes,
            source=source,
        )
        return func

    return register


def select(
    names: Iterable[str] | None, *, include_opt_in: bool = False, allow_writes: bool = False
) -> list[Check]:
    """The checks to run: ``names`` (validated) or every default check, in registry order.

    By default opt-in checks join only with ``include_opt_in`` and write checks only with
    ``allow_writes``. Named checks always run; a named write check without ``allow_writes``
    reports its cases as not tested and sends nothing.
    """
    from conformance.errors import UsageError

    if names is None:
        return [
            c
            for c in CHECKS.values()
            if (include_opt_in or not c.opt_in) and (allow_writes or not c.writes)
        ]
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        raise UsageError(
            f"unknown check(s) {', '.join(map(repr, unknown))}; known checks: "
            f"{', '.join(CHECKS)} (see `stepspec check --list`)"
        )
    return [c for c in CHECKS.values() if c.name in wanted]
