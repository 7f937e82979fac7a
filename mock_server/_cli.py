"""``stepspec mock``: serve the three APIs from a seeded world on a production WSGI server.

Settings come from ``STEPSPEC_*`` environment variables first, then from the options given here.
Every value is checked by ``MockConfig`` (options are read as text, so a bad number gets the same
one-line message as a bad environment variable), and ``serve`` checks the store, the report path
and the address before the server starts: a mistake is one line naming the option or the variable
it came from (``--latency: ...``, ``STEPSPEC_PORT: ...``) and exit 2.
Unlike ``create_app`` (whose world stays still for tests), the served mock starts
``SERVED_AUTO_RUNS`` runs per API and minute by itself unless ``--auto-runs``/``STEPSPEC_AUTO_RUNS``
says otherwise.
``conformance.cli`` names this module by string and imports it only when ``stepspec mock`` runs
(the conformance package never imports the mock); the server itself (Flask, gunicorn or
granian) is imported inside the command, so ``stepspec mock --help`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click

from conformance.errors import UsageError

SERVED_AUTO_RUNS = 2
"""``--auto-runs`` of ``stepspec mock`` (the library default, for tests, is 0)."""


ENV_PREFIX = "STEPSPEC_"
"""``mock_server._config.ENV_PREFIX``, repeated so that ``--help`` needs no mock import."""

EPILOG = """\b
Every option can also be set as STEPSPEC_<NAME> (shown with each option); an option given
on the command line wins.

\b
Per request, on every API:
  Prefer: code=404            answer that documented status, in the vendor's envelope
  Prefer: example=NAME        serve a named example of the OpenAPI document
  X-Stepspec-Scenario: NAME   start a live run on a scenario (approval, approval-timeout,
                              flaky-http, foreach-fanout, llm-then-slack)

\b
Exit codes: 0 stopped (Ctrl-C), 2 usage error (a bad option or variable, a port in use,
an unusable --store or --coverage-report, --server granian when it is not installed), named
on one line."""


@click.command("mock", epilog=EPILOG)
@click.option(
    "--host", default=None, metavar="HOST", help="Interface to bind.  [default: 127.0.0.1]"
)
@click.option("--port", default=None, metavar="PORT", help="Port to bind.  [default: 8080]")
@click.option(
    "--seed", default=None, metavar="N", help="World seed: same seed, same bytes.  [default: 0]"
)
@click.option("--workers", default=None, metavar="N", help="Worker processes.  [default: 2]")
@click.option(
    "--server",
    default=None,
    metavar="gunicorn|granian",
    help="HTTP server: gunicorn, or granian (faster; pip install granian; requests it cannot "
    "parse get its bare 400, not the vendor's envelope).  [default: gunicorn]",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help="Accept only this credential (repeatable). Without it any well-formed one works.",
)
@click.option(
    "--latency",
    "latency_ms",
    default=None,
    metavar="MS[-MS]",
    help="Added latency per request, fixed or a seeded random range.",
)
@click.option(
    "--error-rate",
    default=None,
    metavar="P",
    help="Share (0..1) of requests answered with an injected 500.",
)
@click.option(
    "--workflows",
    "workflows_per_api",
    default=None,
    metavar="N",
    help="Workflows per API in the seeded world.  [default: 12]",
)
@click.option(
    "--runs-per-workflow",
    default=None,
    metavar="N",
    help="Runs per workflow in the seeded world.  [default: 40]",
)
@click.option(
    "--validate-responses",
    is_flag=True,
    default=None,
    help="Validate every response against its schema (a violation becomes a 500).",
)
@click.option(
    "--time-scale",
    default=None,
    metavar="K",
    help="Live runs take 1/K of their time; timestamps stay real.  [default: 1.0]",
)
@click.option(
    "--store",
    "--state",
    "state_path",
    default=None,
    metavar="PATH|URL",
    help="Live-run store: a SQLite file (shared by all workers, survives restarts), or "
    "redis://[user:password@]host:port/db (rediss:// for TLS) shared by several mock hosts.",
)
@click.option(
    "--store-prefix",
    default=None,
    metavar="PREFIX",
    help="First part of every Redis key, so worlds can share one Redis.  [default: stepspec]",
)
@click.option(
    "--auto-runs",
    default=None,
    metavar="N",
    help="Runs the mock starts by itself per API and minute (0 disables).  [default: 2]",
)
@click.option(
    "--run-ttl",
    default=None,
    metavar="SECONDS",
    help="Live runs older than this expire.  [default: 86400]",
)
@click.option(
    "--max-live-runs",
    default=None,
    metavar="N",
    help="Live runs kept per API; older ones expire.  [default: 10000]",
)
@click.option(
    "--rate-limit",
    is_flag=True,
    default=None,
    help="Enforce Trigify's documented 100 requests/minute per key.",
)
@click.option(
    "--coverage-report",
    default=None,
    metavar="FILE",
    help="Write what each client exercised to FILE on shutdown.",
)
@click.option(
    "--replay",
    multiple=True,
    metavar="FILE.har",
    help="Serve the answers recorded in this HAR file (repeatable) for the requests that match "
    "them (method, path, query); the seeded world answers the rest.",
)
@click.option(
    "--replay-only",
    is_flag=True,
    default=None,
    help="With --replay: answer the vendor's 404 for anything that was not recorded.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests whose Host is NAME (repeatable); bound to loopback, the mock "
    "answers other names with a 403 (a DNS-rebinding guard).",
)
def mock_command(**options: Any) -> None:
    """Serve Kibana (/api/workflows, /s/{space}/api/workflows), Arcee (/api/v1/workflow) and
    Trigify (/v1) at once, from one seeded world, on 127.0.0.1:8080 by default."""
    from mock_server._config import ConfigError, MockConfig
    from mock_server._serve import serve

    given = {name: value for name, value in options.items() if value not in (None, ())}
    try:
        config = MockConfig.from_env(os.environ)
    except ConfigError as error:
        raise UsageError(f"{_variable_name(error.setting, os.environ)}: {error.detail}") from None
    if "auto_runs" not in given and "STEPSPEC_AUTO_RUNS" not in os.environ:
        given["auto_runs"] = SERVED_AUTO_RUNS  # a served mock has moving runs by default
    try:
        serve(config.replace(**given))
    except ConfigError as error:
        raise UsageError(f"{_option_name(error.setting)}: {error.detail}") from None


def _variable_name(setting: str | None, environ: Mapping[str, str]) -> str:
    """``latency_ms`` -> ``STEPSPEC_LATENCY_MS``: the variable a setting was read from (the
    store's is ``STEPSPEC_STORE``, named after ``--store``, unless ``STEPSPEC_STATE_PATH`` is
    set)."""
    from mock_server._config import ENV_PREFIX

    if not setting:
        return "environment"
    if setting == "state_path" and ENV_PREFIX + "STATE_PATH" not in environ:
        return ENV_PREFIX + "STORE"
    return ENV_PREFIX + setting.upper()


def _name_env_variables(command: click.Command) -> None:
    """Add ``[env: STEPSPEC_<NAME>]`` to the help of every option (its name is the setting's)."""
    for param in command.params:
        if isinstance(param, click.Option) and param.name and param.help:
            param.help += f"  [env: {ENV_PREFIX}{param.name.upper()}]"


_name_env_variables(mock_command)


def _option_name(setting: str | None) -> str:
    """``latency_ms`` -> ``--latency``: how the user of this command names a setting."""
    for param in mock_command.params:
        if param.name == setting and isinstance(param, click.Option):
            return param.opts[0]
    return f"--{(setting or 'option').replace('_', '-')}"
