"""The mock server as a module-level WSGI app, configured from ``STEPSPEC_*`` variables.

gunicorn and granian both load ``benchmarks.mock_app:app``, so every WSGI server the suite
compares runs exactly the same application object that ``mock_server.create_app`` builds.
"""

from __future__ import annotations

import os

from mock_server import create_app
from mock_server._config import MockConfig

app = create_app(MockConfig.from_env(os.environ))
