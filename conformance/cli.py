"""The ``stepspec`` command: a thin front end that parses options, calls the library, renders.

Subcommands live in their own modules and are imported only when invoked, so ``stepspec
--help`` stays fast and ``stepspec validate`` never loads the mock server or schemathesis.
Nothing imports this module (it is a leaf, see ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from conformance._config import EXIT_COULD_NOT_TEST, EXIT_USAGE
from conformance.errors import InvalidSpec, StepspecError, TargetUnreachable, UsageError

_NO_ARGS_IS_HELP: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("_Never", (click.UsageError,), {})
)
"""click >= 8.2 raises this for a bare group; older versions print the help themselves."""

# name -> (module, attribute, one-line help shown by ``stepspec --help``); ``mock`` lives in
# the mock server's package, named here by string only (conformance never imports mock_server)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "conformance._cli_spec",
        "validate_command",
        "Validate JSON files against a schema.",
    ),
    "spec": ("conformance._cli_spec", "spec_group", "List and export the shipped specs."),
    "check": ("conformance._cli_check", "check_command", "Check a live server against the specs."),
    "drift": (
        "conformance._cli_drift",
        "drift_command",
        "Compare recorded traffic (HAR) with the schemas.",
    ),
    "mock": ("mock_server._cli", "mock_command", "Serve the three APIs from a seeded world."),
    "proxy": (
        "conformance._cli_proxy",
        "proxy_command",
        "Forward traffic to a real server and judge every answer.",
    ),
}


class _LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module_name, attribute, _ = _COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in sorted(_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="stepspec")
def stepspec() -> None:
    """stepspec: schemas, a mock server and a conformance kit for workflow step APIs
    (Elastic Kibana Workflows, Arcee Orchestra, Trigify)."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: expected failures become one line and an exit code.

    click's own usage errors (a bad option value, an unknown option) are reduced to one line in
    the project's shape, ``stepspec <command>: usage error: <what> (see --help)``, instead of
    click's three-line ``Usage:``/``Try``/``Error:`` block.
    """
    try:
        result = stepspec.main(args=argv, prog_name="stepspec", standalone_mode=False)
    except _NO_ARGS_IS_HELP as error:  # a bare group (``stepspec``, ``stepspec spec``): its help
        error.show()
        sys.exit(error.exit_code)
    except click.UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "stepspec"
        click.echo(f"{where}: usage error: {error.format_message()} (see {where} --help)", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as error:
        click.echo(f"stepspec: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except click.Abort:  # Ctrl-C: as click's standalone mode does
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except UsageError as error:
        click.echo(f"stepspec: usage error: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except (InvalidSpec, TargetUnreachable) as error:
        click.echo(f"stepspec: could not test: {error}", err=True)
        sys.exit(EXIT_COULD_NOT_TEST)
    except StepspecError as error:
        click.echo(f"stepspec: {error}", err=True)
        sys.exit(EXIT_COULD_NOT_TEST)
    sys.exit(result if isinstance(result, int) else 0)
