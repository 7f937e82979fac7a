"""Trigify's enforced rate limit (``rate_limit=True``) on every path, through the response cache.

The RATE page documents 100 requests per fixed 60-second window per API key (per IP without a
key) and ``RateLimit-Limit``/``-Remaining``/``-Reset`` (seconds) on every response. A 429 is the
ERRORS page's ``RATE_LIMITED`` envelope with the RATE page's message; ``Retry-After`` and
``error.retryAfterSeconds`` (what clients read) both equal ``RateLimit-Reset``.

The app's response cache replays marked answers before Flask runs, which would skip the count:
these tests pin that no Trigify answer is ever replayed, even when something marks it cacheable.
"""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from conformance._validation import validator
from mock_server._http import mark_cacheable
from mock_server._state import MockState
from mock_server.trigify import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID
from mock_server.trigify._ratelimit import LIMIT, WINDOW_S
from tests.conftest import AppFactory, TestClock

KEY = {"x-api-key": "rate-key"}
PATHS = (
    "/v1/workflows",
    f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}",
    f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions",
    f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions/{DOCUMENTED_RUN_ID}",
    "/v1/workflows/actions",
)


def rate_body(wait_s: int) -> dict[str, object]:
    """The 429 body: the standard envelope, with the wait."""
    return {
        "success": False,
        "error": {
            "code": "RATE_LIMITED",
            "message": "Rate limit exceeded. Maximum 100 requests per minute allowed.",
            "details": None,
            "suggestion": "Wait for the window to reset (see Retry-After) before retrying",
            "retryAfterSeconds": wait_s,
        },
    }


def seconds_left(clock: TestClock) -> int:
    """What ``RateLimit-Reset`` must say: seconds until the clock's minute window ends."""
    return WINDOW_S - (clock.now_us // 1_000_000) % WINDOW_S


def assert_limited(response: TestResponse, clock: TestClock) -> None:
    """The documented 429: the envelope and headers, in both schemas the kit accepts."""
    assert response.status_code == 429, response.get_data(as_text=True)
    body = response.get_json()
    assert body == rate_body(seconds_left(clock))
    for schema in ("error", "error-any"):
        assert validator(f"urn:stepspec:trigify:{schema}").violations(body) == []
    reset = str(seconds_left(clock))
    assert response.headers["RateLimit-Limit"] == str(LIMIT)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Reset"] == reset
    assert response.headers["Retry-After"] == reset


def always_cacheable(app: Flask) -> Flask:
    """``app`` with every answer marked immutable, as a careless shared hook might do."""

    def mark() -> None:
        mark_cacheable()

    app.before_request_funcs.setdefault(None, []).insert(0, mark)
    return app


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("validate", [False, True], ids=["plain", "validate-responses"])
def test_the_101st_request_in_a_window_gets_the_documented_429(
    app_factory: AppFactory, clock: TestClock, path: str, validate: bool
) -> None:
    client = app_factory(rate_limit=True, validate_responses=validate).test_client()
    for remaining in range(LIMIT - 1, -1, -1):
        response = client.get(path, headers=KEY)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["RateLimit-Remaining"] == str(remaining)
    assert_limited(client.get(path, headers=KEY), clock)
    assert_limited(client.get(path, headers=KEY), clock)  # and it stays limited
    clock.advance(seconds_left(clock))  # the next window starts afresh
    assert client.get(path, headers=KEY).headers["RateLimit-Remaining"] == str(LIMIT - 1)


def test_answers_marked_cacheable_are_still_counted(
    app_factory: AppFactory, clock: TestClock
) -> None:
    app = always_cacheable(app_factory(rate_limit=True))
    client = app.test_client()
    for _ in range(LIMIT):
        assert client.get(PATHS[1], headers=KEY).status_code == 200
    assert_limited(client.get(PATHS[1], headers=KEY), clock)
    mock: MockState = app.extensions["stepspec"]
    assert len(mock.cache) == 0, "a Trigify answer was cached: a replay skips the rate limit"


def test_headers_keep_counting_when_answers_are_marked_cacheable(app_factory: AppFactory) -> None:
    client = always_cacheable(app_factory()).test_client()  # enforcement off: headers only
    seen = [client.get(PATHS[0], headers=KEY).headers["RateLimit-Remaining"] for _ in range(3)]
    assert seen == [str(LIMIT - 1), str(LIMIT - 2), str(LIMIT - 3)]


def test_the_budget_is_per_key_across_paths(app_factory: AppFactory, clock: TestClock) -> None:
    client = app_factory(rate_limit=True).test_client()
    for index in range(LIMIT):
        assert client.get(PATHS[index % len(PATHS)], headers=KEY).status_code == 200
    assert_limited(client.get(PATHS[0], headers=KEY), clock)
    other = client.get(PATHS[0], headers={"x-api-key": "another-key"})
    assert other.status_code == 200
    assert other.headers["RateLimit-Remaining"] == str(LIMIT - 1)


def test_requests_without_a_key_are_limited_per_ip(
    app_factory: AppFactory, clock: TestClock
) -> None:
    client = app_factory(rate_limit=True).test_client()
    for _ in range(LIMIT):
        assert client.get(PATHS[0]).status_code == 401
    assert_limited(client.get(PATHS[0]), clock)
    assert client.get(PATHS[0], headers=KEY).status_code == 200  # a key has its own budget


CACHED = tuple(path for path in PATHS if not path.endswith("/executions"))
"""Execution lists change when a test run starts (``POST .../test``): never cached."""


@pytest.mark.parametrize("path", CACHED)
def test_cached_answers_are_counted_and_carry_fresh_headers(
    app_factory: AppFactory, path: str
) -> None:
    """Without enforcement the response cache replays Trigify bodies, through a replay hook
    that still counts the request and writes its own ``RateLimit-*`` values in place."""
    app = app_factory()
    client = app.test_client()
    first = client.get(path, headers=KEY)
    mock: MockState = app.extensions["stepspec"]
    assert first.status_code == 200
    assert len(mock.cache) == 1
    for remaining in range(LIMIT - 2, LIMIT - 6, -1):
        again = client.get(path, headers=KEY)
        assert again.status_code == 200
        assert again.data == first.data
        assert again.headers["RateLimit-Remaining"] == str(remaining)
        assert [name for name, _ in again.headers] == [name for name, _ in first.headers]
        fresh = {"RateLimit-Remaining": str(remaining)}
        assert list(again.headers) == [(n, fresh.get(n, v)) for n, v in first.headers]
    other = client.get(path, headers={"x-api-key": "another-key"})  # its own count
    assert other.headers["RateLimit-Remaining"] == str(LIMIT - 1)


def test_a_429_asked_for_with_prefer_has_coherent_rate_limit_headers(
    app_factory: AppFactory,
) -> None:
    """``Prefer: code=429`` shows an exhausted quota, as an enforced 429 does (walkthrough #16)."""
    client = app_factory().test_client()
    response = client.get("/v1/workflows", headers={**KEY, "Prefer": "code=429"})
    assert response.status_code == 429
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["Retry-After"] == response.headers["RateLimit-Reset"]
    assert int(response.headers["Retry-After"]) > 0


def test_execution_lists_are_never_replayed(app_factory: AppFactory) -> None:
    app = app_factory()
    client = app.test_client()
    path = f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions"
    before = client.get(path, headers=KEY).get_json()["data"]["pagination"]["total_count"]
    started = client.post(f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/test", headers=KEY, json={})
    assert started.status_code == 200
    after = client.get(path, headers=KEY).get_json()["data"]["pagination"]["total_count"]
    assert after == before + 1
    mock: MockState = app.extensions["stepspec"]
    assert len(mock.cache) == 0
