"""The mock server's configuration: one frozen value, from a mapping or from the environment.

``MockConfig`` is what ``create_app`` and ``serve`` take. It is built from keyword arguments,
from a mapping (``MockConfig.from_mapping``, e.g. a test's overrides or parsed CLI options) or
from ``STEPSPEC_*`` environment variables (``MockConfig.from_env``). Every value is checked once,
here, and a bad one raises ``ConfigError`` naming the setting, the value and what is accepted.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "STEPSPEC_"
MAX_WORLD_RUNS = 10**6
"""The largest world (workflows x runs per API) the id codecs are sized for."""
MAX_AUTO_RUNS = 60
"""At most one automatic run per second and API."""
SERVERS = ("gunicorn", "granian")
"""The HTTP servers ``serve`` can run the app under (the first is the default)."""


class ConfigError(ValueError):
    """A configuration value that the mock cannot use; the message says which and why.

    ``setting`` names the field (``latency_ms``) and ``detail`` says what is wrong with it, so a
    front end can name the value the way its user gave it (``--latency``, ``STEPSPEC_LATENCY_MS``);
    ``str(error)`` is ``"<setting>: <detail>"``.
    """

    def __init__(self, setting: str | None, detail: str) -> None:
        super().__init__(f"{setting}: {detail}" if setting else detail)
        self.setting = setting
        self.detail = detail


@dataclass(frozen=True)
class MockConfig:
    """Everything that shapes one mock server (see the field docs for units and limits)."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    """World seed: the same seed gives the same world, byte for byte, in every process."""
    workers: int = 2
    """WSGI worker processes (``serve`` only)."""
    server: str = SERVERS[0]
    """The HTTP server ``serve`` runs: ``gunicorn``, or ``granian`` (optional dependency, faster,
    but framing errors get its own bare answers; ``mock_server._granian``)."""
    api_keys: tuple[str, ...] = ()
    """Accepted credentials; empty accepts any well-formed credential. ``KEY@space-a,space-b``
    accepts ``KEY`` with privileges in those Kibana spaces only (another space: 403)."""
    latency_ms: tuple[int, int] = (0, 0)
    """Added latency per request: fixed when both ends are equal, else a seeded draw in range."""
    error_rate: float = 0.0
    """Share of requests answered with an injected 500 in the vendor's envelope (0..1)."""
    workflows_per_api: int = 12
    runs_per_workflow: int = 40
    validate_responses: bool = False
    """Validate every JSON response against its operation's schema; a violation becomes a 500."""
    time_scale: float = 1.0
    """How fast live runs progress relative to the wall clock (2.0 = twice as fast)."""
    state_path: str | None = None
    """Live-run store (``--store``, ``STEPSPEC_STORE``): a SQLite file, or
    ``redis://[user:password@]host:port/db`` (``rediss://``: TLS) shared by several hosts; None:
    a fresh SQLite file in a temporary directory per app."""
    store_prefix: str = "stepspec"
    """First part of every Redis key (``<prefix>:<seed>:...``): worlds sharing a Redis apart."""
    rate_limit: bool = False
    """Enforce Trigify's documented 100 requests/minute (429 beyond it)."""
    coverage_report: str | None = None
    """Write what clients exercised to this file on shutdown."""
    cors: bool = True
    cache_size: int = 4096
    """Entries of the rendered-response cache (0 disables it)."""
    run_ttl: float = 86_400.0
    """Seconds (of the clock) after which a live run expires (see ``mock_server.live``)."""
    max_live_runs: int = 10_000
    """Live runs kept per API; older ones expire beyond this cap."""
    auto_runs: int = 0
    """Runs the mock starts by itself per API and minute (0: none; ``stepspec mock``: 2)."""
    replay: tuple[str, ...] = ()
    """HAR files whose recorded answers are served before the seeded world
    (``mock_server._replay``); ``STEPSPEC_REPLAY`` lists them separated by ``os.pathsep``."""
    replay_only: bool = False
    """Answer the vendor's 404 for every request that was not recorded (needs ``replay``)."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` names answered besides loopback ones when bound to loopback (``_hosts``)."""

    def __post_init__(self) -> None:
        _check_int("port", self.port, 0, 65535)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("workers", self.workers, 1, 64)
        _check_int("workflows_per_api", self.workflows_per_api, 1, MAX_WORLD_RUNS)
        _check_int("runs_per_workflow", self.runs_per_workflow, 1, MAX_WORLD_RUNS)
        _check_int("cache_size", self.cache_size, 0, 10**7)
        _check_int("max_live_runs", self.max_live_runs, 1, 10**7)
        _check_int("auto_runs", self.auto_runs, 0, MAX_AUTO_RUNS)
        if not 0.0 < self.run_ttl <= 10 * 365 * 86_400 or math.isnan(self.run_ttl):
            raise ConfigError(
                "run_ttl", f"{self.run_ttl!r} must be > 0 seconds and at most 10 years"
            )
        total = self.workflows_per_api * self.runs_per_workflow
        if total > MAX_WORLD_RUNS:
            raise ConfigError(
                "runs_per_workflow",
                f"{self.workflows_per_api} workflows x {self.runs_per_workflow} runs = {total} "
                f"runs per API; at most {MAX_WORLD_RUNS} are supported",
            )
        low, high = self.latency_ms
        _check_int("latency_ms", low, 0, 600_000)
        _check_int("latency_ms", high, 0, 600_000)
        if high < low:
            raise ConfigError("latency_ms", f"range {low}-{high} ends before it starts")
        if not 0.0 <= self.error_rate <= 1.0 or math.isnan(self.error_rate):
            raise ConfigError("error_rate", f"{self.error_rate!r} is not a share between 0 and 1")
        if not 0.0 < self.time_scale <= 1e6 or math.isnan(self.time_scale):
            raise ConfigError("time_scale", f"{self.time_scale!r} must be > 0 and <= 1000000")
        if not self.host:
            raise ConfigError("host", "must not be empty")
        if self.server not in SERVERS:
            raise ConfigError("server", f"{self.server!r} is not one of {', '.join(SERVERS)}")
        if self.replay_only and not self.replay:
            raise ConfigError("replay_only", "needs at least one recording to replay (--replay)")
        if any(not isinstance(path, str) or not path for path in self.replay):
            raise ConfigError("replay", "expected HAR file names")
        if self.state_path is not None:
            _check_store(self.state_path)
        if not _PREFIX.fullmatch(self.store_prefix):
            raise ConfigError(
                "store_prefix",
                f"{self.store_prefix!r} must be 1-64 letters, digits, '.', '_' or '-'",
            )
        if any(not key or key != key.strip() for key in self.api_keys):
            raise ConfigError("api_keys", "keys must be non-empty and have no surrounding spaces")
        for entry in self.api_keys:
            key, spaces = split_key(entry)
            if not key or (spaces is not None and not all(map(SPACE_ID.fullmatch, spaces))):
                raise ConfigError(
                    "api_keys",
                    f"{entry!r} must be KEY or KEY@space-a,space-b (space ids: "
                    "lowercase letters, digits, '_' and '-')",
                )

    @property
    def plain_keys(self) -> tuple[str, ...]:
        """The accepted credentials without their space scopes."""
        return tuple(split_key(entry)[0] for entry in self.api_keys)

    def key_spaces(self, key: str) -> frozenset[str] | None:
        """The spaces ``key`` is scoped to, or None when it may act in every space."""
        for entry in self.api_keys:
            found, spaces = split_key(entry)
            if found == key:
                return spaces
        return None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The settings ``from_mapping`` accepts."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> MockConfig:
        """Build from a mapping of setting name to value; strings are parsed as in ``from_env``.

        An unknown key raises ``ConfigError`` listing the known ones (a typo must not be
        silently ignored).
        """
        known = cls.field_names()
        unknown = sorted(set(mapping) - set(known))
        if unknown:
            raise ConfigError(None, f"unknown setting(s) {unknown!r}; known: {', '.join(known)}")
        return cls(**{name: _coerce(name, value) for name, value in mapping.items()})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MockConfig:
        """Build from ``STEPSPEC_<SETTING>`` variables (e.g. ``STEPSPEC_SEED=7``,
        ``STEPSPEC_API_KEYS=a,b``, ``STEPSPEC_LATENCY_MS=20-80``); others are ignored."""
        found = {
            name: environ[ENV_PREFIX + name.upper()]
            for name in cls.field_names()
            if ENV_PREFIX + name.upper() in environ
        }
        if ENV_PREFIX + "STORE" in environ and "state_path" not in found:
            found["state_path"] = environ[ENV_PREFIX + "STORE"]  # the name of ``--store``
        return cls.from_mapping(found)

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **{k: _coerce(k, v) for k, v in changes.items()})


SPACE_ID = re.compile(r"[a-z0-9_\-]+")


def split_key(entry: str) -> tuple[str, frozenset[str] | None]:
    """``"KEY@a,b"`` -> ``("KEY", {"a", "b"})``; ``"KEY"`` -> ``("KEY", None)``."""
    key, at, spaces = entry.rpartition("@")
    if not at:
        return entry, None
    return key, frozenset(space.strip() for space in spaces.split(",") if space.strip())


_INT_FIELDS = {
    "port", "seed", "workers", "workflows_per_api", "runs_per_workflow", "cache_size",
    "max_live_runs", "auto_runs",
}  # fmt: skip
_FLOAT_FIELDS = {"error_rate", "time_scale", "run_ttl"}
_BOOL_FIELDS = {"validate_responses", "rate_limit", "cors", "replay_only"}
_OPTIONAL_STR_FIELDS = {"state_path", "coverage_report"}
_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,64}")
_STORE_SCHEMES = ("redis", "rediss")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw value (often a string from the environment or the CLI) into the field's type."""
    if name in _INT_FIELDS:
        return _to_int(name, value)
    if name in _FLOAT_FIELDS:
        return _to_float(name, value)
    if name in _BOOL_FIELDS:
        return _to_bool(name, value)
    if name in ("api_keys", "allowed_hosts"):
        return _to_keys(value, name)
    if name == "replay":
        return _to_paths(value)
    if name == "latency_ms":
        return parse_latency(value)
    if name in _OPTIONAL_STR_FIELDS:
        return None if value in (None, "") else str(value)
    if name in ("host", "store_prefix", "server") and not isinstance(value, str):
        raise ConfigError(name, f"expected a string, got {value!r}")
    return value


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(name, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {value!r}") from None


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(name, f"expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"expected a number, got {value!r}") from None


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(name, f"expected true/false (or 1/0, yes/no, on/off), got {value!r}")


def _to_keys(value: Any, name: str = "api_keys") -> tuple[str, ...]:
    if isinstance(value, str):
        # "a,b" lists two keys; once a key is scoped ("KEY@space-a,space-b"), the commas belong
        # to its spaces and keys are separated by whitespace instead.
        parts = value.split() if "@" in value else value.split(",")
        return tuple(part.strip() for part in parts if part.strip())
    if isinstance(value, Iterable):
        return tuple(str(part) for part in value)
    raise ConfigError(name, f"expected a comma-separated string or a list, got {value!r}")


def _to_paths(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part for part in value.split(os.pathsep) if part.strip())
    if isinstance(value, Iterable):
        return tuple(str(part) for part in value)
    raise ConfigError("replay", f"expected HAR file names, got {value!r}")


def _check_store(location: str) -> None:
    """A SQLite path, or a well-formed ``redis://``/``rediss://`` URL (any other ``x://`` is a
    mistake: it would silently become a file of that name)."""
    if "://" not in location:
        return
    parts = urlsplit(location)
    shown = location if parts.password is None else location.replace(parts.password, "***", 1)
    if parts.scheme not in _STORE_SCHEMES:
        raise ConfigError(
            "state_path", f"{shown!r} is neither a file path nor a redis:// or rediss:// URL"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("state_path", f"{shown!r} has an invalid port") from None
    database = parts.path.lstrip("/")
    if not parts.hostname or port == 0 or (database and not database.isdigit()):
        raise ConfigError(
            "state_path", f"{shown!r} must look like redis://[user:password@]host:port/db"
        )


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(name, f"{value} is outside {low}..{high}")


def parse_latency(value: Any) -> tuple[int, int]:
    """``50`` -> (50, 50); ``"20-80"`` -> (20, 80); a pair stays a pair."""
    if isinstance(value, bool):
        raise ConfigError("latency_ms", f"expected MS or MS-MS, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, tuple | list) and len(value) == 2:
        return (_to_int("latency_ms", value[0]), _to_int("latency_ms", value[1]))
    if isinstance(value, str):
        low, sep, high = value.strip().partition("-")
        try:
            pair = (int(low), int(high) if sep else int(low))
        except ValueError:
            raise ConfigError("latency_ms", f"expected MS or MS-MS, got {value!r}") from None
        return pair
    raise ConfigError("latency_ms", f"expected MS or MS-MS, got {value!r}")
