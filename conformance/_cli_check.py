"""``stepspec check``: judge a live server against the specs (a thin front end over the runner).

Parses options, calls ``conformance.runner.run``, renders the report. Exit codes: 0 conforms,
1 findings, 2 usage error, 3 could not test (target unreachable, spec broken) - always with a
one-line reason on stderr, never a traceback (``STEPSPEC_DEBUG=1`` shows it for bug reports).
"""

from __future__ import annotations

import gc
import os
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click

from conformance._config import EXIT_COULD_NOT_TEST, EXIT_USAGE, RunConfig, default
from conformance.errors import StepspecError, UsageError

FORMATS = ("text", "json", "junit")
OFFLINE_GC_THRESHOLD = 100_000
"""Allocations between two runs of the cyclic garbage collector while a recording is judged."""


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError("--header must look like 'Name: value', got a value without a name")
        found[name.strip()] = value.strip()
    return found


def list_checks() -> str:
    """What ``--list`` prints: every check by family, with its description."""
    from conformance.checks import CHECKS, FAMILIES

    lines: list[str] = []
    for family, summary in FAMILIES.items():
        members = [c for c in CHECKS.values() if c.family == family]
        if not members:
            continue
        lines.append(f"{family}: {summary}")
        for chk in members:
            extra = (
                " (opt-in)" if chk.opt_in else " (only with --allow-writes)" if chk.writes else ""
            )
            lines.append(f"  {chk.name}{extra}")
            lines.extend(
                textwrap.wrap(
                    chk.description, width=96, initial_indent="      ", subsequent_indent="      "
                )
            )
        lines.append("")
    lines.append(
        "Findings on rules stepspec only inferred are warnings; --strict makes them errors."
    )
    lines.extend(
        textwrap.wrap(
            "Without --allow-writes no write is ever sent. With it, the lifecycle checks start "
            "runs (and resume and cancel them on Kibana), wait at most --lifecycle-timeout "
            "seconds per check (a run still going then is reported as not tested), and send at "
            "most --max-lifecycle-requests requests, polling included, apart from "
            "--max-requests.",
            width=96,
        )
    )
    return "\n".join(lines) + "\n"


def render(report: Any, fmt: str) -> str:
    """The report in ``fmt`` (text, json or junit)."""
    if fmt == "json":
        from conformance._report_json import render as as_json

        return as_json(report)
    if fmt == "junit":
        from conformance._report_junit import render as as_junit

        return as_junit(report)
    from conformance._report_text import render as as_text

    return as_text(report)


def scrub(text: str, secrets: Mapping[str, str]) -> str:
    """Last line of defence: no (non-trivial) secret value survives into any output."""
    from conformance._client import scrub as scrub_text

    return scrub_text(text, secrets)


@click.command("check")
@click.option(
    "--api",
    type=click.Choice(["kibana", "arcee", "trigify"], case_sensitive=False),
    help="API to check (required).",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="Server origin; URL = base URL + documented path (required).",
)
@click.option(
    "--api-key",
    envvar="STEPSPEC_API_KEY",
    metavar="KEY",
    help="Credential, sent in the vendor's scheme (Kibana `ApiKey`, Arcee `Bearer`, Trigify "
    "`x-api-key`). Also read from STEPSPEC_API_KEY. Never printed.",
)
@click.option(
    "--header",
    "raw_headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Extra request header (repeatable); its value is treated as a secret.",
)
@click.option("--space", metavar="ID", help="Kibana space to test in (requests go to /s/ID/...).")
@click.option("--workflow-id", metavar="ID", help="Use this workflow instead of discovering one.")
@click.option("--run-id", metavar="ID", help="Use this run/execution instead of discovering one.")
@click.option("--step-id", metavar="ID", help="Use this step execution (Kibana; needs --run-id).")
@click.option("--checks", "check_names", metavar="A,B", help="Run only these checks (see --list).")
@click.option("--strict", is_flag=True, help="Rules stepspec only inferred count as errors.")
@click.option(
    "--fuzz",
    type=click.IntRange(min=0),
    default=default("fuzz"),
    show_default=True,
    metavar="N",
    help="schemathesis cases per readable operation (0: no fuzzing).",
)
@click.option("--fuzz-negative", is_flag=True, help="Also fuzz with invalid data (expects 4xx).")
@click.option(
    "--fuzz-seed",
    type=click.IntRange(min=0, max=2**63 - 1),
    metavar="N",
    help="Seed of the generated cases (default: a random one, printed in the report); the "
    "same seed generates the same cases again.",
)
@click.option(
    "--max-fuzz-requests",
    type=click.IntRange(min=1),
    default=default("max_fuzz_requests"),
    show_default=True,
    metavar="N",
    help="Bound on the requests of fuzzing, apart from --max-requests (so fuzzing cannot "
    "starve the other checks).",
)
@click.option(
    "--expect-key-enforcement",
    is_flag=True,
    help="The server must refuse a made-up key (without this flag, a server that "
    "accepts any key gets that case reported as not tested).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--output",
    type=click.Path(),
    metavar="FILE",
    help="Write the report here instead of stdout.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=default("timeout"),
    show_default=True,
    metavar="SECONDS",
    help="Bound on each request, body included.",
)
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    default=default("max_requests"),
    show_default=True,
    metavar="N",
    help="Bound on the requests of the whole run.",
)
@click.option(
    "--max-rate-limit-wait",
    type=click.FloatRange(min=0),
    default=default("rate_limit_budget"),
    show_default=True,
    metavar="SECONDS",
    help="Longest total time the run waits for rate-limit windows (429) to reset; each wait is "
    "at most the vendor's documented window (Trigify 60 s). What is left is not tested.",
)
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Run the lifecycle checks: start runs (Kibana, Arcee), resume and cancel them "
    "(Kibana). They change the server's data; without this flag nothing is written. On a real "
    "Arcee or Trigify a started workflow runs its real actions (Trigify: and costs credits).",
)
@click.option(
    "--lifecycle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=default("lifecycle_timeout"),
    show_default=True,
    metavar="SECONDS",
    help="How long each lifecycle check waits for a run (to end, to wait for input).",
)
@click.option(
    "--max-lifecycle-requests",
    type=click.IntRange(min=1),
    default=default("lifecycle_max_requests"),
    show_default=True,
    metavar="N",
    help="Bound on the requests of the lifecycle checks (polling included), apart from "
    "--max-requests.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress line on stderr (it is shown only when stderr is a terminal).",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE.har",
    help="Also write every exchange of the live run as HAR 1.2 (credentials redacted), to "
    "judge it again offline with --har or read it with `stepspec drift`.",
)
@click.option(
    "--har",
    type=click.Path(dir_okay=False),
    metavar="FILE.har",
    help="Judge this HAR recording offline instead of a live server (no request is sent; the "
    "checks that need requests of their own are listed as 'not tested: offline').",
)
@click.option("--list", "list_only", is_flag=True, help="Name and explain every check, then exit.")
def check_command(**options: Any) -> None:
    """Check a live Kibana, Arcee-compatible or Trigify-compatible server against the specs.

    \b
    Exit codes: 0 conforms, 1 findings, 2 usage error (also an id given with
    --workflow-id/--run-id/--step-id that the server does not know, or a --har
    file that is not HAR), 3 could not test (unreachable, a refused credential,
    a target that does not answer its discovery root in the API's shape, or a
    recording with nothing to judge).
    Examples:
      stepspec check --api kibana --base-url https://kibana.example.com \\
        --format junit --output stepspec.xml
      stepspec check --api kibana --har session.har
    """
    if options["list_only"]:
        click.echo(list_checks(), nl=False)
        return
    secrets: dict[str, str] = {}
    try:
        if options["har"]:
            _check_output(options["output"])
            report = _offline(options)
        else:
            config = _config(options)
            secrets = config.secrets()
            _check_output(options["output"])
            report = _live(config, options["record"], quiet=options["quiet"])
    except UsageError as error:
        click.echo(scrub(f"stepspec check: usage error: {error}", secrets), err=True)
        sys.exit(EXIT_USAGE)
    except StepspecError as error:
        click.echo(scrub(f"stepspec check: could not test: {error}", secrets), err=True)
        sys.exit(EXIT_COULD_NOT_TEST)
    except Exception as error:  # a bug in stepspec: one line unless debugging is asked for
        if os.environ.get("STEPSPEC_DEBUG"):
            raise
        click.echo(
            scrub(
                f"stepspec check: internal error: {type(error).__name__}: {error} "
                "(rerun with STEPSPEC_DEBUG=1 for the traceback)",
                secrets,
            ),
            err=True,
        )
        sys.exit(EXIT_COULD_NOT_TEST)
    text = scrub(render(report, options["fmt"]), secrets)
    warning = report.untested_warning()
    if warning:  # also on stderr: a CI log shows it even when the report goes to a file
        click.echo(f"stepspec check: warning: {warning}", err=True)
    if options["output"]:
        try:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:  # checked before the run; the disk may still fill up
            click.echo(
                f"stepspec check: could not write --output {options['output']}: "
                f"{error.strerror or error}",
                err=True,
            )
            sys.exit(EXIT_COULD_NOT_TEST)
        verdict = "conforms" if report.exit_code == 0 else f"{len(report.errors)} errors"
        click.echo(f"stepspec check: {verdict}; report written to {options['output']}", err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(report.exit_code)


def _check_output(path: str | None) -> None:
    """A report that cannot be written is a usage error, found before any request is sent."""
    if not path:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"--output {path}: the folder {parent} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"--output {path} is a folder; give a file name")
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"--output {path} is not writable")


def _live(config: Any, record: str | None, *, quiet: bool) -> Any:
    """A live run, with a progress line on a terminal and, with ``--record``, a HAR file."""
    from conformance._progress import Progress
    from conformance.runner import run

    writer = None
    if record:
        from conformance.har import HarWriter

        writer = HarWriter(record)
    progress = Progress.to_stderr("stepspec check", quiet=quiet)
    try:
        return run(config, progress, recorder=writer)
    finally:
        if progress is not None:
            progress.close()
        if writer is not None and len(writer):
            writer.close()


_LIVE_ONLY = (
    "record",
    "base_url",
    "space",
    "workflow_id",
    "run_id",
    "step_id",
    "fuzz",
    "fuzz_negative",
    "fuzz_seed",
    "expect_key_enforcement",
    "allow_writes",
)


def _offline(options: Mapping[str, Any]) -> Any:
    """``--har``: the passive judge over a recording (``conformance._passive``)."""
    from conformance._passive import judge_entries
    from conformance.har import read_har

    if not options["api"]:
        raise UsageError("--api is required with --har (kibana, arcee or trigify)")
    clashing = [name for name in _LIVE_ONLY if options[name]]
    if clashing:
        flag = "--" + clashing[0].replace("_", "-")
        raise UsageError(f"{flag} applies to a live check; --har judges a recording offline")
    names = options["check_names"]
    checks = tuple(n.strip() for n in names.split(",") if n.strip()) if names else None
    with _fewer_collections():
        return judge_entries(
            options["api"],
            read_har(options["har"]),
            strict=options["strict"],
            checks=checks,
            source=f"har:{options['har']}",
        )


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector runs every ``OFFLINE_GC_THRESHOLD`` allocations, not 700.

    Judging a recording holds every decoded response body until the report is built: trees
    of lists and dicts without a cycle, which the collector would traverse again and again as
    they age, for nothing (a quarter of the CPU of judging a recording of 310 large Arcee
    responses). It still runs, so what cycles there are still get freed. Only offline: a live
    check's HTTP client leaves cyclic garbage that is better freed early. The thresholds are
    restored afterwards (the command may run inside another program: a test, the benchmark).
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], OFFLINE_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _config(options: Mapping[str, Any]) -> RunConfig:
    if not options["api"]:
        raise UsageError("--api is required (kibana, arcee or trigify); see --help")
    if not options["base_url"]:
        raise UsageError("--base-url is required, e.g. --base-url http://127.0.0.1:8080")
    names = options["check_names"]
    checks = tuple(n.strip() for n in names.split(",") if n.strip()) if names else None
    return RunConfig(
        api=options["api"].lower(),
        base_url=options["base_url"],
        api_key=options["api_key"] or None,
        headers=_headers(options["raw_headers"]),
        space=options["space"],
        workflow_id=options["workflow_id"],
        run_id=options["run_id"],
        step_id=options["step_id"],
        checks=checks,
        strict=options["strict"],
        fuzz=options["fuzz"],
        fuzz_negative=options["fuzz_negative"],
        timeout=options["timeout"],
        max_requests=options["max_requests"],
        rate_limit_budget=options["max_rate_limit_wait"],
        expect_key_enforcement=options["expect_key_enforcement"],
        allow_writes=options["allow_writes"],
        lifecycle_timeout=options["lifecycle_timeout"],
        lifecycle_max_requests=options["max_lifecycle_requests"],
        fuzz_seed=options["fuzz_seed"],
        max_fuzz_requests=options["max_fuzz_requests"],
    )
