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

The options mirror ``stepspec check`` (``--stepspec-space``, ``--stepspec-header`` (repeatable),
``--stepspec-workflow-id``/``-run-id``/``-step-id``, ``--stepspec-max-requests``,
``--stepspec-fuzz-negative``, ``--stepspec-fuzz-seed``, ...). Mistakes in them are one-line
``pytest.UsageError``s raised at configuration time, before any test is collected. When the
target cannot be tested at all (unreachable, a refused credential, not the API) or an id passed
is unknown to the server, the session stops at the first case with one line and the CLI's exit
code (3, or 2 for an unknown id) instead of failing every case with the same message.

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
    from conformance._config import RunConfig
    from conformance.runner import CaseResult, Report

# setting -> (help, is_flag). The defaults named in the help texts are RunConfig's
# (``conformance._config``); they are written out so that importing the plugin stays cheap, and
# tests/conformance/test_plugin_usage.py holds them equal to ``conformance._config.default``.
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
    "space": ("Kibana space to test in (requests go to /s/ID/...).", False),
    "header": ("Extra request header 'Name: value' (repeatable; treated as a secret).", False),
    "workflow_id": ("Use this workflow instead of discovering one.", False),
    "run_id": ("Use this run/execution instead of discovering one.", False),
    "step_id": ("Use this step execution (Kibana; needs --stepspec-run-id).", False),
    "max_requests": ("Bound on the requests of the whole run (default 400).", False),
    "max_lifecycle_requests": ("Bound on the lifecycle checks' requests (default 300).", False),
    "fuzz_negative": ("Also fuzz with invalid data (expects 4xx).", True),
    "fuzz_seed": ("Seed of the generated fuzz cases (default: random, shown).", False),
    "max_fuzz_requests": ("Bound on the fuzzer's requests (default 500).", False),
}
_REPEATABLE = frozenset({"header"})
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
        elif name in _REPEATABLE:
            group.addoption(flag, action="append", default=None, metavar="VALUE", help=text)
            parser.addini(f"stepspec_{name}", text, type="linelist", default=None)
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
        raise pytest.UsageError(
            "stepspec: --stepspec-api (kibana, arcee or trigify) is required with "
            "--stepspec-base-url"
        )
    from conformance._config import RunConfig, default
    from conformance.errors import UsageError

    checks = _setting(config, "checks")
    try:
        return RunConfig(
            api=str(api).strip().lower(),
            base_url=str(base_url),
            api_key=_setting(config, "api_key"),
            headers=_headers(_setting(config, "header")),
            space=_setting(config, "space"),
            workflow_id=_setting(config, "workflow_id"),
            run_id=_setting(config, "run_id"),
            step_id=_setting(config, "step_id"),
            checks=tuple(c.strip() for c in str(checks).split(",") if c.strip())
            if checks
            else None,
            strict=bool(_setting(config, "strict")),
            fuzz=_number(config, "fuzz", int, default("fuzz")),
            fuzz_negative=bool(_setting(config, "fuzz_negative")),
            fuzz_seed=_number(config, "fuzz_seed", int, None),
            max_fuzz_requests=_number(
                config, "max_fuzz_requests", int, default("max_fuzz_requests")
            ),
            timeout=_number(config, "timeout", float, default("timeout")),
            max_requests=_number(config, "max_requests", int, default("max_requests")),
            expect_key_enforcement=bool(_setting(config, "expect_key_enforcement")),
            allow_writes=bool(_setting(config, "allow_writes")),
            lifecycle_timeout=_number(
                config, "lifecycle_timeout", float, default("lifecycle_timeout")
            ),
            lifecycle_max_requests=_number(
                config, "max_lifecycle_requests", int, default("lifecycle_max_requests")
            ),
            option_prefix="--stepspec-",
        )
    except UsageError as error:
        raise pytest.UsageError(f"stepspec: {error}") from None


def _number(config: pytest.Config, name: str, kind: type[Any], default: Any) -> Any:
    value = _setting(config, name)
    if value in (None, ""):
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        flag = "--stepspec-" + name.replace("_", "-")
        raise pytest.UsageError(
            f"stepspec: {flag} must be a{'n integer' if kind is int else ' number'}, got {value!r}"
        ) from None


def _headers(values: Any) -> dict[str, str]:
    if not values:
        return {}
    if isinstance(values, str):
        values = [values]
    found: dict[str, str] = {}
    for raw in values:
        name, sep, value = str(raw).partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise pytest.UsageError(
                "stepspec: --stepspec-header must look like 'Name: value', got a value "
                "without a name"
            )
        found[name.strip()] = value.strip()
    return found


_CONFIG_KEY = pytest.StashKey["RunConfig | None"]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Check the settings once, before collection: a mistake is one ``pytest.UsageError`` line.

    (Raised from ``pytest_generate_tests`` instead, it would surface through other plugins'
    hook wrappers as a long traceback.)
    """
    if not hasattr(config.option, "stepspec_base_url"):
        return  # the plugin's options were not registered (e.g. ``-p no:stepspec`` half-way)
    run_config = _run_config(config)
    if run_config is not None and run_config.fuzz > 0 and run_config.fuzz_seed is None:
        # Chosen here, not in the run, so that the session header can show it.
        import random
        from dataclasses import replace

        run_config = replace(run_config, fuzz_seed=random.SystemRandom().randrange(2**32))
    config.stash[_CONFIG_KEY] = run_config
    if run_config is not None and run_config.checks is not None:
        from conformance.checks import select

        try:
            select(run_config.checks)
        except Exception as error:
            raise pytest.UsageError(f"stepspec: {error}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The target, and the fuzz seed that generates the same cases again."""
    run_config = config.stash.get(_CONFIG_KEY, None)
    if run_config is None:
        return []
    from conformance._client import scrub

    line = f"stepspec: --stepspec-api {run_config.api} --stepspec-base-url {run_config.base_url}"
    if run_config.fuzz > 0:
        line += f" --stepspec-fuzz {run_config.fuzz} --stepspec-fuzz-seed {run_config.fuzz_seed}"
    return [scrub(line, run_config.secrets())]


@dataclass
class _Session:
    """The run shared by every case of one pytest session (started by the first case)."""

    config: RunConfig
    report: Report | None = None
    error: str | None = None
    exit_code: int = 3
    cases: dict[tuple[str, str], CaseResult] = field(default_factory=dict)

    def result(self, check: str, operation: str) -> CaseResult | None:
        if self.report is None and self.error is None:
            from conformance._config import EXIT_COULD_NOT_TEST, EXIT_USAGE
            from conformance.errors import StepspecError, UsageError
            from conformance.runner import run

            try:
                self.report = run(self.config)
            except UsageError as error:
                self.error = _scrub(f"stepspec: usage error: {error}", self.config)
                self.exit_code = EXIT_USAGE
            except StepspecError as error:
                self.error = _scrub(f"stepspec: could not test: {error}", self.config)
                self.exit_code = EXIT_COULD_NOT_TEST
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
            # Nothing can be judged: one line and the CLI's exit code, not N equal failures.
            pytest.exit(self.session.error, returncode=self.session.exit_code)
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
    run_config = metafunc.config.stash.get(_CONFIG_KEY, None)
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
