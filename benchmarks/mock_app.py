"""The mock server as a module-level WSGI app, configured from ``STEPSPEC_*`` variables.

gunicorn and granian both load ``benchmarks.mock_app:app``, so every WSGI server the suite
compares runs exactly the application ``stepspec mock`` serves: built by ``_serve.build_app``
(``create_app``, then its start-up objects frozen out of the garbage collector's reach). A
``--compare-tree`` checkout older than ``build_app`` gets its plain ``create_app``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mock_server import _serve, create_app
from mock_server._config import MockConfig

_build: Callable[[MockConfig, Any], Any] = getattr(
    _serve, "build_app", lambda config, replay: create_app(config, replay=replay)
)
app = _build(MockConfig.from_env(os.environ), None)
