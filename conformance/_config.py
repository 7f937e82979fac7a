"""A run's settings and the exit codes, defined once for every front end.

``RunConfig`` holds everything one run needs, with its defaults; ``stepspec check`` (its click
options) and the pytest plugin (its ``--stepspec-*`` settings) read the defaults from here
(``default(name)``), so a default is written once. The exit codes are shared by both front
ends: 0 conforms, 1 findings (errors; warnings count only under ``--strict``), 2 usage error,
3 could not test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import _operations
from conformance.errors import UsageError

__all__ = [
    "EXIT_COULD_NOT_TEST",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "RunConfig",
    "default",
]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_COULD_NOT_TEST = 0, 1, 2, 3


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. Secrets are kept out of ``repr``."""

    api: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Extra request headers (``--header``); their values are treated as secrets."""
    space: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    step_id: str | None = None
    checks: tuple[str, ...] | None = None
    strict: bool = False
    fuzz: int = 0
    fuzz_negative: bool = False
    timeout: float = 10.0
    max_requests: int = 400
    rate_limit_budget: float = 120.0
    """Seconds the run may spend in all waiting out 429s (``--max-rate-limit-wait``)."""
    expect_key_enforcement: bool = False
    """Whether the server must refuse a made-up key (see the ``auth_rejects_invalid`` check)."""
    allow_writes: bool = False
    """Run the lifecycle checks, which start, resume and cancel runs (``--allow-writes``)."""
    lifecycle_timeout: float = 60.0
    """Seconds a lifecycle check waits for a run to reach the state it waits for."""
    lifecycle_max_requests: int = 300
    """Requests the lifecycle checks may send, on top of ``max_requests`` (their own pool)."""
    fuzz_seed: int | None = None
    """Seed of the generated fuzz cases (None: a random one, shown in the report)."""
    max_fuzz_requests: int = 500
    """Requests the fuzzer may send, on top of ``max_requests`` (its own pool)."""
    option_prefix: str = "--"
    """How the front end spells its options (``--`` for the CLI, ``--stepspec-`` for pytest),
    so that messages name an option the user can actually pass."""

    def option(self, name: str) -> str:
        """The option ``name`` (e.g. ``api-key``) as the user's front end spells it."""
        return self.option_prefix + name

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise UsageError(
                f"--base-url must start with http:// or https://, got {self.base_url!r}"
            )
        if self.timeout <= 0:
            raise UsageError(
                f"--timeout must be a positive number of seconds, got {self.timeout!r}"
            )
        if self.max_requests < 1:
            raise UsageError(f"--max-requests must be at least 1, got {self.max_requests!r}")
        if self.lifecycle_timeout <= 0:
            raise UsageError(
                "--lifecycle-timeout must be a positive number of seconds, "
                f"got {self.lifecycle_timeout!r}"
            )
        if self.lifecycle_max_requests < 1:
            raise UsageError(
                f"--max-lifecycle-requests must be at least 1, got {self.lifecycle_max_requests!r}"
            )
        if self.rate_limit_budget < 0:
            raise UsageError(
                f"--max-rate-limit-wait must be 0 or more seconds, got {self.rate_limit_budget!r}"
            )
        if self.fuzz < 0:
            raise UsageError(f"--fuzz must be 0 or more cases per operation, got {self.fuzz!r}")
        if self.max_fuzz_requests < 1:
            raise UsageError(
                f"{self.option('max-fuzz-requests')} must be at least 1, "
                f"got {self.max_fuzz_requests!r}"
            )
        if self.fuzz_seed is not None and not 0 <= self.fuzz_seed < 2**63:
            raise UsageError(
                f"{self.option('fuzz-seed')} must be an integer from 0 to 2**63-1, "
                f"got {self.fuzz_seed!r}"
            )
        if self.space is not None and self.api != "kibana":
            raise UsageError(f"{self.option('space')} only applies to --api kibana")
        if self.step_id and not self.run_id:
            raise UsageError(
                f"{self.option('step-id')} needs {self.option('run-id')} "
                "(a step is addressed within its run)"
            )
        if self.run_id and self.api in ("arcee", "trigify") and not self.workflow_id:
            raise UsageError(
                f"{self.option('run-id')} needs {self.option('workflow-id')} for {self.api}: "
                "its run URLs contain the workflow id"
            )
        _operations.profile(self.api)

    @property
    def credential_headers(self) -> dict[str, str]:
        """The credential in the vendor's scheme (empty without ``--api-key``)."""
        if not self.api_key:
            return {}
        return _operations.profile(self.api).credential(self.api_key)

    def secrets(self) -> dict[str, str]:
        """Secret value -> the placeholder reports show instead."""
        found: dict[str, str] = {}
        if self.api_key:
            found[self.api_key] = "$STEPSPEC_API_KEY"
        for name, value in self.headers.items():
            if value:
                found[value] = f"<{name} redacted>"
        return found


def default(name: str) -> Any:
    """The default of the ``RunConfig`` field ``name``: what a front end shows and falls back to."""
    for item in dataclasses.fields(RunConfig):
        if item.name == name:
            if item.default is dataclasses.MISSING:
                raise KeyError(f"RunConfig.{name} has no default")
            return item.default
    raise KeyError(f"RunConfig has no field {name!r}")
