"""``stepspec validate`` and ``stepspec spec list|export``: the schemas from the command line.

Exit codes follow the house rule: 0 valid, 1 invalid (one line per error), 2 usage error.
"""

from __future__ import annotations

import difflib
import json
import sys
from typing import IO, Any

import click
import yaml

from conformance import _bundle, _provenance, _specs, _validation
from conformance._progress import Progress

_EXIT_INVALID = 1


@click.command("validate")
@click.option(
    "--schema",
    "schema_id",
    required=True,
    metavar="ID",
    help="Schema id, e.g. urn:stepspec:kibana:step-execution, or a unique short name "
    "(step-execution, kibana:step-execution); see `stepspec spec list`.",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Ignore rules the vendors do not document (marked x-stepspec-inferred).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress line on stderr (shown only on a terminal)."
)
@click.argument("files", nargs=-1, required=True, type=click.File("rb"))
def validate_command(
    schema_id: str, lenient: bool, quiet: bool, files: tuple[IO[bytes], ...]
) -> None:
    """Validate JSON FILES (or - for stdin) against the schema ID. Only JSON is read, not YAML.

    Prints one line per error: file, JSON path, what was expected, what was found.
    Exit codes: 0 valid, 1 invalid (or not JSON), 2 usage error.
    """
    schema_id = resolve_schema_id(schema_id)
    checker = _validation.validator(schema_id)
    failed = False
    progress = Progress.to_stderr("stepspec validate", quiet=quiet) if len(files) > 1 else None
    for index, handle in enumerate(files):
        if progress is not None:
            progress.update("validating", done=index, total=len(files), unit="files")
        name = handle.name if isinstance(handle.name, str) else "<stdin>"
        data = handle.read()
        try:
            payload = json.loads(data)
        except ValueError as error:
            if progress is not None:
                progress.close()
            click.echo(f"{name}: not JSON: {error}{_yaml_hint(name, data)}")
            failed = True
            continue
        problems = checker.errors(payload, strict=not lenient)
        for problem in problems:
            tag = " [inferred rule]" if problem.inferred else ""
            click.echo(
                f"{name}: {problem.path}: expected {problem.expected}, found {problem.found}{tag}"
            )
        failed = failed or bool(problems)
        if progress is not None:
            progress.close()
        if not problems:
            click.echo(f"{name}: valid against {schema_id}")
    if progress is not None:
        progress.close()
    if failed:
        sys.exit(_EXIT_INVALID)


def _yaml_hint(name: str, data: bytes) -> str:
    """Advice for a file that is not JSON but looks like YAML (by its name or its content)."""
    looks_yaml = name.lower().endswith((".yaml", ".yml"))
    if not looks_yaml:
        try:
            looks_yaml = isinstance(yaml.safe_load(data), (dict, list))
        except (yaml.YAMLError, ValueError):
            looks_yaml = False
    if not looks_yaml:
        return ""
    return " (stepspec validate reads JSON only; convert the YAML to JSON first)"


def resolve_schema_id(wanted: str) -> str:
    """The full schema id for ``wanted``: an id, or a unique short name (``step-execution``,
    ``kibana:step-execution``). Otherwise a one-line usage error with the closest ids."""
    known = _specs.schema_ids()
    if wanted in known:
        return wanted
    short = wanted.removeprefix("urn:stepspec:")
    matches = [sid for sid in known if sid == f"urn:stepspec:{short}" or sid.endswith(f":{short}")]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise click.UsageError(
            f"schema {wanted!r} is ambiguous: {', '.join(matches)}; give one of these ids"
        )
    names = {sid.removeprefix("urn:stepspec:"): sid for sid in known}
    names.update({sid.rsplit(":", 1)[1]: sid for sid in known})
    api, _, name = short.rpartition(":")
    if api in _specs.APIS:  # compare the name with the names of that API only
        names = {
            sid.rsplit(":", 1)[1]: sid for sid in known if sid.startswith(f"urn:stepspec:{api}:")
        }
        close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    else:
        close = difflib.get_close_matches(short, list(names), n=3, cutoff=0.6)
    if close:
        hint = f"did you mean {' or '.join(dict.fromkeys(names[c] for c in close))}?"
    elif api in _specs.APIS:
        own = [sid.rsplit(":", 1)[1] for sid in known if _specs.split_schema_id(sid)[0] == api]
        hint = f"the {api} schemas are urn:stepspec:{api}:<name> with name one of {', '.join(own)}"
    else:
        hint = "`stepspec spec list` lists every schema id"
    raise click.UsageError(f"unknown schema {wanted!r}; {hint}")


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts (the same content).",
)
def list_command(api: str | None, sources: bool, fmt: str) -> None:
    """List APIs, their operations (with response schemas) and every schema id."""
    if fmt == "json":
        click.echo(json.dumps(_listing(api, sources=sources), indent=2))
        return
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


def _listing(api: str | None, *, sources: bool) -> dict[str, Any]:
    """What ``spec list`` shows, as JSON-ready data (``spec list --format json``)."""
    apis: dict[str, Any] = {}
    for name in (api,) if api else _specs.APIS:
        entry: dict[str, Any] = {
            "operations": [
                {
                    "operationId": operation.operation_id,
                    "method": operation.method.upper(),
                    "path": operation.path,
                    "responses": dict(operation.responses),
                }
                for operation in _specs.operations(name)
            ],
            "schemas": [
                sid for sid in _specs.schema_ids() if _specs.split_schema_id(sid)[0] == name
            ],
        }
        if sources:
            entry["sources"] = [
                {
                    "schema": sid,
                    "pointer": rule.pointer,
                    "inferred": rule.inferred,
                    "source": rule.source,
                }
                for sid in entry["schemas"]
                for rule in _provenance.schema_sources(sid)
            ]
        apis[name] = entry
    listing: dict[str, Any] = {"apis": apis}
    if sources:
        from conformance.checks import CHECKS

        listing["checks"] = {check.name: check.source for check in CHECKS.values()}
    return listing


@spec_group.command("export")
@click.option("--api", required=True, type=click.Choice(_specs.APIS), help="Which API.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml"]),
    default=None,
    help="Output format (default: from the extension of --output, .json or .yaml/.yml; else yaml).",
)
@click.option(
    "--output",
    "-o",
    type=click.File("w"),
    default="-",
    help="Write to this file instead of stdout.",
)
def export_command(api: str, fmt: str | None, output: IO[str]) -> None:
    """Write one self-contained (bundled) OpenAPI document for API."""
    if fmt is None:
        name = output.name if isinstance(output.name, str) else ""
        fmt = "json" if name.lower().endswith(".json") else "yaml"
    document = _bundle.bundle(api)
    if fmt == "json":
        output.write(json.dumps(document, indent=2) + "\n")
    else:
        output.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
