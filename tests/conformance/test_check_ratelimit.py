"""A 429 is waited out within the vendor's window and the run's budget, and never a finding.

The mock (Trigify) sits behind a middleware that answers some requests with Trigify's documented
429 (https://docs.trigify.io/rate-limits: the flat body, ``RateLimit-Reset`` in seconds).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conformance.mutants import Exchange, Mutant, MutantMiddleware

pytestmark = pytest.mark.slow

LIMITED = {
    "success": False,
    "message": "Rate limit exceeded. Maximum 100 requests per minute allowed.",
    "error": "RATE_LIMIT_EXCEEDED",
}


class RateLimiter:
    """Answers the requests numbered ``limited`` (1-based) with a 429 that resets in ``reset``."""

    def __init__(self, limited: range, reset: str, header: str = "RateLimit-Reset") -> None:
        self.limited, self.reset, self.header = limited, reset, header
        self.seen = 0
        self.refused = 0
        self._lock = threading.Lock()

    def __call__(self, exchange: Exchange) -> None:
        with self._lock:
            self.seen += 1
            if self.seen not in self.limited:
                return
            self.refused += 1
        exchange.status, exchange.reason = 429, "Too Many Requests"
        exchange.header("Content-Type", "application/json")
        exchange.header(self.header, self.reset)
        exchange.set_json(LIMITED)


def _run(limiter: RateLimiter, app_factory: Any, served: Any, run_check: Any, *args: str) -> Any:
    app = app_factory()
    app.testing = False
    mutant = Mutant("rate-limited", "trigify", "", "answers 429 for a while", response=limiter)
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)
    with served(app) as url:
        result = run_check("--api", "trigify", "--base-url", url, "--format", "json", *args)
    return result, json.loads(result.stdout)


def test_a_429_is_waited_out_and_the_run_goes_on(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    # The third request and its first retry are refused; the window then resets.
    limiter = RateLimiter(range(3, 5), "1")
    result, report = _run(limiter, app_factory, served, run_check)
    assert limiter.refused == 2
    assert report["findings"] == []
    assert not [note for note in report["notes"] if "429" in note]
    assert not [case for case in report["cases"] if "429" in (case["reason"] or "")]
    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("reset", "header", "budget", "why"),
    [
        ("30", "RateLimit-Reset", "1", "more than the 1 s left of --max-rate-limit-wait 1"),
        ("3600", "Retry-After", "120", "longer than the 60 s window trigify documents"),
    ],
)
def test_a_reset_beyond_the_bounds_leaves_the_rest_not_tested(
    reset: str, header: str, budget: str, why: str, app_factory: Any, served: Any, run_check: Any
) -> None:
    limiter = RateLimiter(range(5, 10_000), reset, header)
    result, report = _run(limiter, app_factory, served, run_check, "--max-rate-limit-wait", budget)
    assert limiter.refused == 1  # asked once, then nothing more was sent
    assert report["findings"] == []
    (note,) = [note for note in report["notes"] if "429" in note]
    assert f"resets in {reset} s" in note
    assert why in note
    skipped = [case for case in report["cases"] if case["outcome"] == "not_tested"]
    assert any(f"resets in {reset} s" in (case["reason"] or "") for case in skipped)
    assert result.exit_code == 0
