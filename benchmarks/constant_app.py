"""The baseline: a WSGI app that answers constant bytes, the floor of any Python mock here.

The harness writes the mock's real payloads to files and serves them under the same WSGI server
configuration as the mock. ``STEPSPEC_BENCH_BODIES`` is ``path=file,path=file``: a request for
``path`` gets that file's bytes (read once at import) as ``application/json``; any other path
gets the first body. A dict lookup per request is all the work it does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def _load(spec: str) -> dict[str, tuple[bytes, list[tuple[str, str]]]]:
    bodies: dict[str, tuple[bytes, list[tuple[str, str]]]] = {}
    for item in filter(None, spec.split(",")):
        path, _, file = item.partition("=")
        body = Path(file).read_bytes()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        bodies[path] = (body, headers)
    if not bodies:
        body = b"{}"
        bodies["/"] = (body, [("Content-Type", "application/json"), ("Content-Length", "2")])
    return bodies


_BODIES = _load(os.environ.get("STEPSPEC_BENCH_BODIES", ""))
_DEFAULT = next(iter(_BODIES.values()))


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer the constant body registered for ``PATH_INFO``."""
    body, headers = _BODIES.get(environ.get("PATH_INFO", ""), _DEFAULT)
    start_response("200 OK", headers)
    return [body]
