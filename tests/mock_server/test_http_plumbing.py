"""WSGI plumbing of ``mock_server._http``: CORS headers without flask-cors, the bounded cache."""

from __future__ import annotations

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from flask_cors import CORS

from mock_server._http import ENTRY_OVERHEAD, CachedResponse, CorsHeaders, ResponseCache

EXPOSED = ("elastic-api-version", "RateLimit-Limit", "Retry-After")


def _bare_app() -> Flask:
    app = Flask("plumbing")

    @app.get("/thing")
    def thing() -> Response:
        return Response('{"ok": true}', mimetype="application/json")

    @app.post("/thing")
    def make_thing() -> Response:
        return Response('{"ok": true}', status=201, mimetype="application/json")

    return app


def _with_flask_cors() -> Flask:
    app = _bare_app()
    CORS(app, origins="*", allow_headers="*", supports_credentials=True, expose_headers=EXPOSED)
    return app


def _with_middleware() -> Flask:
    app = _bare_app()
    app.wsgi_app = CorsHeaders(app.wsgi_app, EXPOSED)  # type: ignore[method-assign]
    return app


CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Private-Network",
    "Vary",
)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/thing", {"Origin": "http://127.0.0.1:5173"}),
        ("POST", "/thing", {"Origin": "http://localhost:3000"}),
        ("GET", "/missing", {"Origin": "http://127.0.0.1:5173"}),
        ("DELETE", "/thing", {"Origin": "http://127.0.0.1:5173"}),
        ("GET", "/thing", {}),
        (
            "GET",
            "/thing",
            {"Origin": "http://a.test", "Access-Control-Request-Private-Network": "true"},
        ),
    ],
)
def test_cors_headers_are_the_ones_flask_cors_sends(
    method: str, path: str, headers: dict[str, str]
) -> None:
    reference = _with_flask_cors().test_client().open(path, method=method, headers=headers)
    ours = _with_middleware().test_client().open(path, method=method, headers=headers)
    assert ours.status_code == reference.status_code
    for name in CORS_HEADERS:
        expected = reference.headers.get(name)
        found = ours.headers.get(name)
        if name == "Access-Control-Expose-Headers" and expected is not None:
            assert found is not None
            assert sorted(found.split(", ")) == sorted(expected.split(", "))
        else:
            assert found == expected, name


def _entry(size: int) -> CachedResponse:
    return CachedResponse("200 OK", (), b"x" * size, None)


def test_the_cache_evicts_the_least_recently_used_beyond_its_byte_budget() -> None:
    cache = ResponseCache(size=100, max_bytes=3 * (400 + ENTRY_OVERHEAD))
    for name in ("a", "b", "c"):
        cache.put((name,), _entry(400))
    assert cache.get(("a",)) is not None  # "b" is now the least recently used
    cache.put(("d",), _entry(400))
    assert len(cache) == 3
    assert cache.get(("b",)) is None
    assert cache.bytes == 3 * (400 + ENTRY_OVERHEAD)


def test_an_entry_larger_than_the_budget_is_not_kept() -> None:
    cache = ResponseCache(size=100, max_bytes=1000)
    cache.put(("big",), _entry(5000))
    assert len(cache) == 0
    assert cache.bytes == 0


def test_replacing_an_entry_counts_only_the_new_body() -> None:
    cache = ResponseCache(size=100, max_bytes=10_000)
    cache.put(("k",), _entry(100))
    cache.put(("k",), _entry(300))
    assert len(cache) == 1
    assert cache.bytes == 300 + ENTRY_OVERHEAD


def test_a_replay_hook_refreshes_headers_or_sends_the_request_to_the_app() -> None:
    from mock_server._http import REPLAY_KEY, CachingMiddleware, ResponseCache

    calls: list[str] = []
    answers: list[dict[str, str] | None] = [{"X-Count": "2"}, None]

    def hook(environ: dict[str, object]) -> dict[str, str] | None:
        calls.append("hook")
        return answers.pop(0)

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        calls.append("app")
        environ["stepspec.cacheable"] = True
        environ[REPLAY_KEY] = hook
        start_response("200 OK", [("X-Count", "1"), ("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"body"]

    middleware = CachingMiddleware(app, ResponseCache(8))  # type: ignore[arg-type]
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        seen.append((status, headers))

    for _ in range(3):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "QUERY_STRING": ""}
        assert b"".join(middleware(environ, start)) == b"body"  # type: ignore[arg-type]
    assert calls == ["app", "hook", "hook", "app"]
    assert [headers[0] for _, headers in seen] == [
        ("X-Count", "1"),
        ("X-Count", "2"),
        ("X-Count", "1"),
    ]


@pytest.mark.parametrize("path", ["/_stepspec/", "/_stepspec/viewer.js", "/_stepspec/coverage"])
def test_pages_declare_their_charset_once(client: FlaskClient, path: str) -> None:
    """``text/html; charset=utf-8``, not ``...; charset=utf-8; charset=utf-8`` (walkthrough #4)."""
    content_type = client.get(path, headers={"Accept": "text/html"}).headers["Content-Type"]
    assert content_type.count("charset") == 1, content_type
    assert content_type.endswith("; charset=utf-8")
