"""CPU time of the mock's own code per cold request, per API, in process (no server, no wrk).

    .venv/bin/python -m benchmarks.cold_cpu [--rounds 5] [--per-round 300] [--origin]

Builds ``create_app`` over the benchmark world (100 workflows x 1,000 runs per API, a fresh
live-run store), finds cold URLs the way the HTTP measures do (``_discover`` over the Flask
test client), then calls the app's WSGI callable directly with a prepared environ per URL:
each round takes URLs no earlier round requested (nothing is in the response cache), and the
figure is the median round's ``process_time`` per request. Far less sensitive to a loaded
machine than wrk; it leaves out the server (gunicorn, granian). To compare two trees, run the
same file with each tree's python from each tree's root.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.test import EnvironBuilder

from benchmarks import _discover
from mock_server import create_app

WORLD = {"seed": 0, "workflows_per_api": 100, "runs_per_workflow": 1000}


class _Answer:
    """What ``_discover`` reads of a response."""

    def __init__(self, status: int, content: bytes) -> None:
        self.status_code, self.content = status, content
        self.text = content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _TestClient(_discover.Client):
    """``_discover.Client`` over the Flask test client instead of HTTP."""

    def __init__(self, app: Flask, auth: _discover.ApiAuth) -> None:
        super().__init__("", auth)
        self.client = app.test_client()

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=dict(self.auth.headers))
        return _Answer(response.status_code, response.get_data())


def _discard(data: bytes) -> None:
    return None


def _ignore(
    status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
) -> Callable[[bytes], None]:
    return _discard


def measure(
    rounds: int, per_round: int, *, origin: bool, world: Mapping[str, int] = WORLD
) -> dict[str, list[float]]:
    """µs of CPU per cold request in each round, per API."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({**world, "state_path": str(Path(tmp) / "state.sqlite3")})
        wsgi = app.wsgi_app
        found: dict[str, list[float]] = {}
        for auth in _discover.APIS:
            targets = _discover.DISCOVER[auth.name](
                _TestClient(app, auth), rounds * per_round + 50, big=False
            )
            cold = [url for url in targets.cold if url != targets.warm][: rounds * per_round]
            headers: Mapping[str, str] = {**auth.headers, "Host": "127.0.0.1:8080"}
            if origin:
                headers = {**headers, "Origin": "http://127.0.0.1:5173"}
            environs = []
            pairs = list(headers.items())
            for url in cold:
                path, _, query = url.partition("?")
                builder = EnvironBuilder(path=path, query_string=query, headers=pairs)
                environs.append(builder.get_environ())
            found[auth.name] = []
            for start in range(0, len(environs) - per_round + 1, per_round):
                chunk = environs[start : start + per_round]
                began = time.process_time()
                for environ in chunk:
                    b"".join(wsgi(dict(environ), _ignore))
                found[auth.name].append((time.process_time() - began) / len(chunk) * 1e6)
        return found


def main() -> None:
    """Print the median µs per cold request per API (and each round's figure)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_cpu", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--origin", action="store_true", help="send Origin (as a browser)")
    args = parser.parse_args()
    for api, figures in measure(args.rounds, args.per_round, origin=args.origin).items():
        rounds = " ".join(f"{figure:.0f}" for figure in figures)
        print(f"{api:8s} {statistics.median(figures):7.1f} µs per cold request  ({rounds})")


if __name__ == "__main__":
    main()
