"""The proxy's configuration: one frozen value, checked once, with one-line errors.

``ProxyConfig`` is what ``create_proxy`` and ``serve`` take. Every value is checked in
``__post_init__`` and a bad one raises ``ConfigError`` (the mock's, so ``stepspec proxy`` turns it
into a usage error: one line, exit 2) naming the setting, the value and what is accepted.
"""

from __future__ import annotations

import math
import os
import urllib.parse
from dataclasses import dataclass

from mock_server._config import ConfigError

APIS = ("kibana", "arcee", "trigify")
DEFAULT_PORT = 8081
"""Beside the mock's 8080, so both can run at once."""
MAX_JUDGED_BYTES = 8 * 1024 * 1024
"""Bodies larger than this stream through untouched but are neither judged nor recorded (the
view and the report count them): a 10 MB answer costs the proxy 64 KB of buffer, not 10 MB
(``Relay`` keeps a copy only while the body stays under the cap)."""
_REPORT_FORMATS = ("text", "json", "junit")


def parse_header(text: str) -> tuple[str, str]:
    """``"Authorization: ApiKey abc"`` -> ``("Authorization", "ApiKey abc")``."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value or any(c in name for c in " \t\r\n"):
        raise ConfigError(
            "upstream_header",
            f"{text.split(':', 1)[0]!r}... is not 'Name: value' "
            "(e.g. --upstream-header 'Authorization: ApiKey <key>')",
        )
    if "\r" in value or "\n" in value:
        raise ConfigError("upstream_header", f"the value of {name!r} holds a line break")
    return name, value


def _check_writable(name: str, path: str | None) -> None:
    """A file the proxy writes on exit must be writable now, not only when it is too late."""
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigError(name, f"the directory of {path!r} does not exist")
    if not os.access(directory, os.W_OK) or os.path.isdir(path):
        raise ConfigError(name, f"{path!r} cannot be written")


@dataclass(frozen=True)
class ProxyConfig:
    """Everything that shapes one proxy (see the field docs)."""

    api: str
    """Which API's contract the traffic is judged by: ``kibana``, ``arcee`` or ``trigify``."""
    target: str
    """The upstream's base URL (``https://kibana.example.com``); requests keep their path."""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    insecure: bool = False
    """Skip TLS verification of the upstream (self-signed staging servers)."""
    upstream_timeout: float = 30.0
    """Seconds to connect and between bytes from the upstream; beyond it a 504."""
    upstream_headers: tuple[tuple[str, str], ...] = ()
    """Headers the proxy sets on every forwarded request (a credential of its own)."""
    cors_origins: tuple[str, ...] = ()
    """Origins CORS answers when restricted (always with ``upstream_headers``)."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` names answered besides loopback ones (see ``mock_server._hosts``)."""
    record: str | None = None
    """HAR file written with every exchange (credentials redacted)."""
    record_max_mb: float = 100.0
    redact_fields: tuple[str, ...] = ()
    """JSON body fields masked in the recording (e-mails, names)."""
    report: str | None = None
    """Report file written on exit."""
    report_format: str = "text"
    strict: bool = False
    """Inferred rules count as errors (as ``stepspec check --strict``)."""
    max_judged_bytes: int = MAX_JUDGED_BYTES
    threads: int = 16
    """Requests served at once (one process: the judge's state lives in it)."""

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ConfigError("api", f"{self.api!r} is not one of {', '.join(APIS)}")
        parts = urllib.parse.urlsplit(self.target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "target", f"{self.target!r} is not an http(s) URL (e.g. https://kibana.example.com)"
            )
        if parts.query or parts.fragment:
            raise ConfigError("target", f"{self.target!r} must not carry a query or fragment")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", f"{self.port!r} is not a port (0..65535)")
        if not 0 < self.upstream_timeout <= 3600 or math.isnan(self.upstream_timeout):
            raise ConfigError(
                "upstream_timeout", f"{self.upstream_timeout!r} must be > 0 and at most 3600 s"
            )
        if not 0 < self.record_max_mb <= 100_000 or math.isnan(self.record_max_mb):
            raise ConfigError("record_max_mb", f"{self.record_max_mb!r} must be > 0")
        if self.report_format not in _REPORT_FORMATS:
            raise ConfigError(
                "report_format",
                f"{self.report_format!r} is not one of {', '.join(_REPORT_FORMATS)}",
            )
        for name in ("record", "report"):
            _check_writable(name, getattr(self, name))
        if not 1 <= self.threads <= 256:
            raise ConfigError("threads", f"{self.threads!r} must be 1..256")
        for origin in self.cors_origins:
            found = urllib.parse.urlsplit(origin)
            if found.scheme not in ("http", "https") or not found.netloc or found.path:
                raise ConfigError(
                    "cors_origin", f"{origin!r} is not an origin (scheme://host[:port], no path)"
                )

    @property
    def base_url(self) -> str:
        """``target`` without a trailing slash."""
        return self.target.rstrip("/")

    @property
    def restricted_cors(self) -> bool:
        """Whether CORS answers only ``cors_origins``: always when the proxy adds a header of
        its own (otherwise any page the developer opens could read the upstream through it)."""
        return bool(self.upstream_headers or self.cors_origins)

    @property
    def record_max_bytes(self) -> int:
        """``record_max_mb`` in bytes."""
        return int(self.record_max_mb * 1024 * 1024)
