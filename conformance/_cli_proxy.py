"""``stepspec proxy``: a validating reverse proxy in front of a real (or any) server.

Options are parsed here and checked by ``mock_server.proxy.ProxyConfig`` (a mistake is one line
and exit 2, before the server starts); the proxy itself lives in ``mock_server.proxy`` and is
imported inside the command: the conformance package never depends on the mock server.
"""

from __future__ import annotations

from typing import Any

import click

from conformance.errors import UsageError


@click.command("proxy")
@click.option(
    "--api",
    required=True,
    type=click.Choice(["kibana", "arcee", "trigify"]),
    help="The API whose contract the traffic is judged by.",
)
@click.option(
    "--target",
    required=True,
    metavar="URL",
    help="The upstream's base URL, e.g. https://kibana.example.com.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8081, show_default=True, help="Port to bind.")
@click.option("--insecure", is_flag=True, help="Do not verify the upstream's TLS certificate.")
@click.option(
    "--upstream-timeout",
    type=float,
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long to connect and for each read; beyond it the client gets a 504.",
)
@click.option(
    "--upstream-header",
    "upstream_headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Set this header on every forwarded request (repeatable), e.g. "
    "'Authorization: ApiKey <key>'. CORS then answers only --cors-origin origins.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="An origin CORS answers (repeatable); given, or with --upstream-header, "
    "no other origin may use the proxy.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests whose Host is NAME (repeatable); bound to loopback, "
    "the proxy answers other names with a 403 (a DNS-rebinding guard).",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False),
    metavar="FILE.har",
    help="Record every exchange as HAR 1.2 (credentials redacted).",
)
@click.option(
    "--record-max-mb",
    type=float,
    default=100.0,
    show_default=True,
    metavar="MB",
    help="Bound of the recording; exchanges beyond it are left out (and counted).",
)
@click.option(
    "--redact-field",
    "redact_fields",
    multiple=True,
    metavar="NAME",
    help="Mask this JSON body field in the recording, at any depth (repeatable).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report of everything judged to FILE on exit.",
)
@click.option(
    "--format",
    "report_format",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="Format of --report.",
)
@click.option("--strict", is_flag=True, help="Inferred rules count as errors.")
def proxy_command(**options: Any) -> None:
    """Forward every request to --target unchanged and judge every answer against the specs.

    \b
    Each new finding is one line on stderr; the Traffic view is at /_stepspec/traffic.
    Example:
      stepspec proxy --api kibana --target https://kibana.example.com \\
        --record session.har --report report.txt
    """
    from mock_server._config import ConfigError
    from mock_server.proxy import ProxyConfig, serve
    from mock_server.proxy._config import parse_header

    try:
        headers = tuple(parse_header(text) for text in options.pop("upstream_headers"))
        config = ProxyConfig(upstream_headers=headers, **options)
        serve(config)
    except ConfigError as error:
        # ``upstream_header`` -> ``--upstream-header``: the option the user typed
        setting = error.setting or "option"
        option = "--format" if setting == "report_format" else "--" + setting.replace("_", "-")
        raise UsageError(f"{option}: {error.detail}") from None
