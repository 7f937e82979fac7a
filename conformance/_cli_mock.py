"""``stepspec mock``: serve the three APIs from a seeded world on a production WSGI server.

Settings come from ``STEPSPEC_*`` environment variables first, then from the options given here.
Unlike ``create_app`` (whose world stays still for tests), the served mock starts
``SERVED_AUTO_RUNS`` runs per API and minute by itself unless ``--auto-runs``/``STEPSPEC_AUTO_RUNS``
says otherwise.
The mock server is imported inside the command: the conformance package never depends on it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from conformance.errors import UsageError

if TYPE_CHECKING:
    from mock_server._config import MockConfig

SERVED_AUTO_RUNS = 2
"""``--auto-runs`` of ``stepspec mock`` (the library default, for tests, is 0)."""


@click.command("mock")
@click.option("--host", default=None, help="Interface to bind.  [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port to bind.  [default: 8080]")
@click.option(
    "--seed", type=int, default=None, help="World seed: same seed, same bytes.  [default: 0]"
)
@click.option("--workers", type=int, default=None, help="Worker processes.  [default: 2]")
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
    type=float,
    default=None,
    metavar="P",
    help="Share (0..1) of requests answered with an injected 500.",
)
@click.option(
    "--workflows",
    "workflows_per_api",
    type=int,
    default=None,
    help="Workflows per API in the seeded world.  [default: 12]",
)
@click.option(
    "--runs-per-workflow",
    type=int,
    default=None,
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
    type=float,
    default=None,
    help="Speed of live runs relative to the wall clock.  [default: 1.0]",
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
    type=int,
    default=None,
    metavar="N",
    help="Runs the mock starts by itself per API and minute (0 disables).  [default: 2]",
)
@click.option(
    "--run-ttl",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Live runs older than this expire.  [default: 86400]",
)
@click.option(
    "--max-live-runs",
    type=int,
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
def mock_command(**options: Any) -> None:
    """Serve Kibana (/api/workflows, /s/{space}/api/workflows), Arcee (/api/v1/workflow) and
    Trigify (/v1) at once, from one seeded world, on 127.0.0.1:8080 by default."""
    from mock_server._config import ConfigError, MockConfig
    from mock_server._serve import serve

    given = {name: value for name, value in options.items() if value not in (None, ())}
    if "auto_runs" not in given and "STEPSPEC_AUTO_RUNS" not in os.environ:
        given["auto_runs"] = SERVED_AUTO_RUNS  # a served mock has moving runs by default
    try:
        config = MockConfig.from_env(os.environ).replace(**given)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    _check_store(config)
    serve(config)


def _check_store(config: MockConfig) -> None:
    """A Redis store must answer before gunicorn starts: else one line and exit 2."""
    from mock_server.live import RedisStore, StoreUnavailable, is_redis_url, open_store

    if not is_redis_url(config.state_path):
        return
    try:
        store = open_store(config)
    except StoreUnavailable as error:
        raise UsageError(f"cannot reach the live-run store {error}") from None
    if isinstance(store, RedisStore):
        store.close()
