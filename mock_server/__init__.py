"""stepspec's mock server: the three vendor APIs, served from a deterministic seeded world.

``create_app(config)`` builds the Flask app in-process (test harnesses); ``stepspec mock`` serves
it under gunicorn (``mock_server._serve.serve``). See ARCHITECTURE.md for the design.
"""

from __future__ import annotations

from mock_server._app import create_app
from mock_server._config import ConfigError, MockConfig
from mock_server._context import WORLD_NOW_US, MockContext
from mock_server._vendor import Vendor

__all__ = ["WORLD_NOW_US", "ConfigError", "MockConfig", "MockContext", "Vendor", "create_app"]
