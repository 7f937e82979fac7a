"""The ``stepspec`` pytest plugin: one test per check x operation against a live server.

Usage, in any project with stepspec installed::

    # test_api_conformance.py
    def test_stepspec(stepspec_case):
        stepspec_case.verify()

    $ pytest --stepspec-api kibana --stepspec-base-url https://kibana.example.com

Settings come from the command line (``--stepspec-*``), then ini keys (``stepspec_*``), then the
environment (``STEPSPEC_API``, ``STEPSPEC_BASE_URL``, ``STEPSPEC_API_KEY``, ...). The checks
run once per session, at the first case; each case then passes, fails with a
``ConformanceFailure`` listing its findings, or is skipped with the reason it was not tested.

``--stepspec-allow-writes`` adds the lifecycle checks, which start (and, on Kibana, resume and
cancel) runs on the server; ``--stepspec-lifecycle-timeout`` bounds how long each waits.

Without a base URL the plugin adds nothing: no tests, no output (a test that asks for
``stepspec_case`` is skipped, saying how to configure it). Importing this module loads only
pytest and the standard library; the kit is imported when a base URL is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.runner import CaseResult, Report, RunConfig

# setting -> (help, is_flag)
_SETTINGS: dict[str, tuple[str, bool]] = {
    "api": ("API of the server under test: kibana, arcee or trigify.", False),
    "base_url": ("Base URL of the server under test; without it the plugin does nothing.", False),
    "api_key": ("Credential, sent in the vendor's scheme (never printed).", False),
    "checks": ("Comma-separated checks to run (default: all; see `stepspec check --list`).", False),
    "strict": ("Rules stepspec only inferred count as failures.", True),
    "fuzz": ("schemathesis cases per readable operation (default 0: no fuzzing).", False),
    "timeout": ("Bound in seconds on each request (default 10).", False),
    "expect_key_enforcement": ("The server must refuse a made-up key.", True),
    "allow_writes": (
        "Run the lifecycle checks, which start, resume and cancel runs (writes).",
        True,
    ),
    "lifecycle_timeout": ("Seconds each lifecycle check waits for a run (default 60).", False),
}
_NO_BASE_URL = (
    "stepspec: no base URL; pass --stepspec-base-url (or ini stepspec_base_url, or "
    "STEPSPEC_BASE_URL) to check a server"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--stepspec-*`` options and ``stepspec_*`` ini keys."""
    group = parser.getgroup("stepspec", "stepspec conformance checks against a live server")
    for name, (text, is_flag) in _SETTINGS.items():
        flag = "--stepspec-" + name.replace("_", "-")
        if is_flag:
            group.addoption(flag, action="store_true", default=None, help=text)
            parser.addini(f"stepspec_{name}", text, type="bool", default=None)
        else:
            group.addoption(flag, default=None, metavar="VALUE", help=text)
            parser.addini(f"stepspec_{name}", text, default=None)


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption("stepspec_" + name)
    if value is None:
        value = config.getini("stepspec_" + name)
    if value in (None, "", []):
        value = os.environ.get("STEPSPEC_" + name.upper()) or None
        if value is not None and _SETTINGS[name][1]:
            value = value.strip().lower() in ("1", "true", "yes", "on")
    return value


def _run_config(config: pytest.Config) -> RunConfig | None:
    base_url = _setting(config, "base_url")
    if not base_url:
        return None
    api = _setting(config, "api")
    if not api:
        raise pytest.UsageError("stepspec: --stepspec-api (kibana, arcee or trigify) is required")
    from conformance.errors import UsageError
    from conformance.runner import RunConfig

    checks = _setting(config, "checks")
    try:
        return RunConfig(
            api=str(api),
            base_url=str(base_url),
            api_key=_setting(config, "api_key"),
            checks=tuple(c.strip() for c in str(checks).split(",") if c.strip())
            if checks
            else None,
            strict=bool(_setting(config, "strict")),
            fuzz=int(_setting(config, "fuzz") or 0),
            timeout=float(_setting(config, "timeout") or 10),
            expect_key_enforcement=bool(_setting(config, "expect_key_enforcement")),
            allow_writes=bool(_setting(config, "allow_writes")),
            lifecycle_timeout=float(_setting(config, "lifecycle_timeout") or 60),
        )
    except (UsageError, ValueError) as error:
        raise pytest.UsageError(f"stepspec: {error}") from None


@dataclass
class _Session:
    """The run shared by every case of one pytest session (started by the first case)."""

    config: RunConfig
    report: Report | None = None
    error: str | None = None
    cases: dict[tuple[str, str], CaseResult] = field(default_factory=dict)

    def result(self, check: str, operation: str) -> CaseResult | None:
        if self.report is None and self.error is None:
            from conformance.errors import StepspecError
            from conformance.runner import run

            try:
                self.report = run(self.config)
            except StepspecError as error:
                self.error = _scrub(f"stepspec: could not test: {error}", self.config)
            else:
                self.cases = {(c.check, c.operation): c for c in self.report.cases}
        return self.cases.get((check, operation))


def _scrub(text: str, config: RunConfig) -> str:
    from conformance._client import scrub

    return scrub(text, config.secrets())


_SESSION_KEY = pytest.StashKey[_Session]()


@dataclass(frozen=True)
class StepspecCase:
    """One check x operation; ``verify()`` turns its outcome into a test outcome."""

    check: str
    operation: str
    label: str
    session: _Session = field(repr=False)

    def verify(self) -> None:
        """Pass, raise ``ConformanceFailure`` with the findings, or skip with the reason."""
        result = self.session.result(self.check, self.operation)
        if self.session.error is not None:
            pytest.fail(self.session.error, pytrace=False)
        if result is None:
            pytest.skip(f"{self.check} was not run for {self.operation}")
        if result.outcome == "skipped":
            pytest.skip(f"not tested: {result.reason}")
        if result.outcome == "failed":
            from conformance.errors import ConformanceFailure
            from conformance.findings import Severity, format_findings

            errors = [f for f in result.findings if f.severity is Severity.ERROR]
            message = _scrub(
                f"{self.check} failed for {self.operation} ({self.label}):\n"
                + format_findings(errors),
                self.session.config,
            )
            raise ConformanceFailure(message, errors)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``stepspec_case``: one case per check x operation of the chosen API."""
    if "stepspec_case" not in metafunc.fixturenames:
        return
    run_config = _run_config(metafunc.config)
    if run_config is None:
        metafunc.parametrize(
            "stepspec_case",
            [pytest.param(None, marks=pytest.mark.skip(reason=_NO_BASE_URL))],
            ids=["no-base-url"],
        )
        return
    session = metafunc.config.stash.get(_SESSION_KEY, None)
    if session is None:
        session = _Session(run_config)
        metafunc.config.stash[_SESSION_KEY] = session
    from conformance.runner import plan

    cases = [
        StepspecCase(check, operation, label, session)
        for check, operation, label in plan(
            run_config.api,
            run_config.checks,
            fuzz=run_config.fuzz > 0,
            writes=run_config.allow_writes,
        )
    ]
    metafunc.parametrize(
        "stepspec_case", cases, ids=[f"{case.check}-{case.operation}" for case in cases]
    )


@pytest.fixture
def stepspec_case(request: pytest.FixtureRequest) -> StepspecCase:
    """One check x operation of the server under test (see the module docstring)."""
    case: StepspecCase = request.param
    return case
