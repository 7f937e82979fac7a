"""``stepspec drift FILE.har``: what recorded traffic says about the schemas (a thin front end).

Reads the recording (``conformance.har.read_har``; a file that is not HAR is one line, exit 2),
runs ``conformance._drift.drift`` and renders text, JSON or HTML to stdout or ``-o FILE``.
Drift is evidence for a maintainer, not a verdict: it exits 0 whatever it finds.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from conformance.errors import UsageError

FORMATS = ("text", "json", "html")


@click.command("drift")
@click.argument("har_file", metavar="FILE.har", type=click.Path(dir_okay=False))
@click.option(
    "--api",
    type=click.Choice(["kibana", "arcee", "trigify"]),
    help="Compare only this API's traffic (default: each exchange with the API it calls).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Write the report here instead of stdout.",
)
def drift_command(har_file: str, api: str | None, fmt: str, output: str | None) -> None:
    """Compare a HAR recording with the schemas: undocumented fields, fields never seen, values
    outside an enum or format, and whether each inferred (x-stepspec-inferred) rule held.

    \b
    Example:
      stepspec drift session.har --api kibana --format html -o drift.html
    """
    from conformance._drift import drift, render_html, render_json, render_text
    from conformance.har import read_har

    try:
        report = drift(read_har(har_file), api=api, source=har_file)
    except UsageError as error:
        click.echo(f"stepspec drift: usage error: {error}", err=True)
        sys.exit(2)
    renderers: dict[str, Any] = {"text": render_text, "json": render_json, "html": render_html}
    text = renderers[fmt](report)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(
            f"stepspec drift: {len(report.contradicted)} inferred rules contradicted, "
            f"{len(report.confirmed)} confirmed; report written to {output}",
            err=True,
        )
    else:
        click.echo(text, nl=False)
