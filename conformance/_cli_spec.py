"""``stepspec validate`` and ``stepspec spec list|export``: the schemas from the command line.

Exit codes follow the house rule: 0 valid, 1 invalid (one line per error), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from typing import IO

import click
import yaml

from conformance import _bundle, _provenance, _specs, _validation
from conformance.errors import SchemaNotFound

_EXIT_INVALID = 1


@click.command("validate")
@click.option(
    "--schema",
    "schema_id",
    required=True,
    metavar="ID",
    help="Schema id, e.g. urn:stepspec:kibana:step-execution (see `stepspec spec list`).",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Ignore rules the vendors do not document (marked x-stepspec-inferred).",
)
@click.argument("files", nargs=-1, required=True, type=click.File("rb"))
def validate_command(schema_id: str, lenient: bool, files: tuple[IO[bytes], ...]) -> None:
    """Validate JSON FILES (or - for stdin) against the schema ID.

    Prints one line per error: file, JSON path, what was expected, what was found.
    """
    try:
        checker = _validation.validator(schema_id)
    except SchemaNotFound as error:
        raise click.UsageError(str(error)) from None
    failed = False
    for handle in files:
        name = handle.name if isinstance(handle.name, str) else "<stdin>"
        try:
            payload = json.loads(handle.read())
        except ValueError as error:
            click.echo(f"{name}: not JSON: {error}")
            failed = True
            continue
        problems = checker.errors(payload, strict=not lenient)
        for problem in problems:
            tag = " [inferred rule]" if problem.inferred else ""
            click.echo(
                f"{name}: {problem.path}: expected {problem.expected}, found {problem.found}{tag}"
            )
        failed = failed or bool(problems)
        if not problems:
            click.echo(f"{name}: valid against {schema_id}")
    if failed:
        sys.exit(_EXIT_INVALID)


@click.group("spec")
def spec_group() -> None:
    """List and export the shipped JSON Schemas and OpenAPI documents."""


@spec_group.command("list")
@click.option("--api", type=click.Choice(_specs.APIS), help="Only this API.")
@click.option(
    "--sources",
    is_flag=True,
    help="Also list where each rule comes from: every x-stepspec-source of the schemas "
    "(inferred rules marked) and the source of every check.",
)
def list_command(api: str | None, sources: bool) -> None:
    """List APIs, their operations (with response schemas) and every schema id."""
    for name in (api,) if api else _specs.APIS:
        click.echo(f"{name}")
        click.echo("  operations:")
        for operation in _specs.operations(name):
            ok = operation.responses.get("200") or operation.responses.get("201") or "-"
            click.echo(f"    {operation.operation_id:<34} {operation.label}  -> {ok}")
        click.echo("  schemas:")
        for sid in _specs.schema_ids():
            if _specs.split_schema_id(sid)[0] == name:
                click.echo(f"    {sid}")
        if sources:
            click.echo("  sources:")
            for sid in _specs.schema_ids():
                if _specs.split_schema_id(sid)[0] != name:
                    continue
                rules = _provenance.schema_sources(sid)
                if not rules:
                    click.echo(f"    {sid}: not recorded")
                for rule in rules:
                    where = sid + (f"#{rule.pointer}" if rule.pointer else "")
                    tag = " [inferred rule]" if rule.inferred else ""
                    click.echo(f"    {where}{tag}: {rule.source}")
    if sources:
        from conformance.checks import CHECKS

        click.echo("checks:")
        for check in CHECKS.values():
            click.echo(f"  {check.name}: {check.source or 'not recorded'}")


@spec_group.command("export")
@click.option("--api", required=True, type=click.Choice(_specs.APIS), help="Which API.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml"]),
    default="yaml",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output",
    "-o",
    type=click.File("w"),
    default="-",
    help="Write to this file instead of stdout.",
)
def export_command(api: str, fmt: str, output: IO[str]) -> None:
    """Write one self-contained (bundled) OpenAPI document for API."""
    document = _bundle.bundle(api)
    if fmt == "json":
        output.write(json.dumps(document, indent=2) + "\n")
    else:
        output.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
