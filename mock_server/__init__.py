"""stepspec's mock server: the three vendor APIs, served from a deterministic seeded world.

``create_app(config)`` builds the Flask app in-process (test harnesses); ``stepspec mock`` serves
it under gunicorn (``mock_server._serve.serve``). See ARCHITECTURE.md for the design.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server._app import create_app
    from mock_server._config import ConfigError, MockConfig
    from mock_server._context import WORLD_NOW_US, MockContext
    from mock_server._vendor import Vendor

__all__ = ["WORLD_NOW_US", "ConfigError", "MockConfig", "MockContext", "Vendor", "create_app"]

_HOMES = {
    "create_app": "mock_server._app",
    "ConfigError": "mock_server._config",
    "MockConfig": "mock_server._config",
    "WORLD_NOW_US": "mock_server._context",
    "MockContext": "mock_server._context",
    "Vendor": "mock_server._vendor",
}
"""Imported on first use, so that ``mock_server._cli`` (``stepspec mock --help``) loads no
Flask: the package itself imports nothing."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
