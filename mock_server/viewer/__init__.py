"""The run viewer at ``/_stepspec/``: the mock's APIs, workflows and runs in a browser.

``blueprint()`` serves static files (no build step, no CDN) whose script calls the mock's own
vendor endpoints, same origin, with a key the user can change; plus ``/_stepspec/coverage``, the
per-client coverage report recorded by ``mock_server.coverage``. ``python -m
mock_server.viewer.screenshot FILE`` renders the viewer in headless Chromium (``make
screenshots``).
"""

from __future__ import annotations

from mock_server.viewer._blueprint import PREFIX, blueprint

__all__ = ["PREFIX", "blueprint"]
