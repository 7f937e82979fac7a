"""Rate limits: a 429 is waited out, never judged.

A 429 says nothing about the contract: the server only asks the client to come back later. So
``Context`` never hands a 429 to a check. It waits until the window resets and asks again, as
long as the wait is no longer than the vendor's documented window (Trigify: a fixed window of
60 s, https://docs.trigify.io/rate-limits; the others document none, so the kit waits only
briefly) and the run's budget for such waits (``--max-rate-limit-wait``) has that much left.
Otherwise the target counts as stalled and every case not yet tested is reported as *not
tested*, with the time the window resets, so a rerun after that time can finish the job.

When the window resets is read from (first found): ``Retry-After`` (seconds or an HTTP date),
the body's ``error.retryAfterSeconds`` (Trigify's spec-generated clients read it),
``RateLimit-Reset`` (seconds, IETF draft 6 and Trigify's RATE page), ``RateLimit: ...reset=N``
(draft 7+) and the legacy ``X-RateLimit-Reset`` (a Unix time, express-rate-limit's
``legacyHeaders``). Without any of them the kit assumes the whole documented window.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance._client import HttpResponse

DOCUMENTED_WINDOW: dict[str, float] = {"trigify": 60.0}
"""Longest reset a vendor documents, in seconds (Trigify: 100 requests per 60-second window)."""
_EPOCH_FLOOR = 1_000_000_000
"""A reset value above this is a Unix time, not a number of seconds."""
_RESET_PARAM = re.compile(r"(?:^|[;,\s])reset=(\d+(?:\.\d+)?)")


def reset_after(response: HttpResponse, now: float | None = None) -> float | None:
    """Seconds until the rate-limit window resets, as a 429 ``response`` says; None if unsaid."""
    now = time.time() if now is None else now
    headers = response.headers
    retry_after = headers.get("retry-after", "").strip()
    if retry_after:
        seconds = _seconds(retry_after, now)
        if seconds is None:
            parsed = _http_date(retry_after)
            seconds = None if parsed is None else max(0.0, parsed - now)
        if seconds is not None:
            return seconds
    from_body = _body_seconds(response.body)
    if from_body is not None:
        return from_body
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        seconds = _seconds(headers.get(name, "").strip(), now)
        if seconds is not None:
            return seconds
    matched = _RESET_PARAM.search(headers.get("ratelimit", ""))
    return None if matched is None else float(matched.group(1))


def _seconds(text: str, now: float) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value < 0:  # NaN or negative
        return None
    return max(0.0, value - now) if value > _EPOCH_FLOOR else value


def _http_date(text: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _body_seconds(body: bytes) -> float | None:
    try:
        parsed: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    for holder in (error, parsed):
        value = holder.get("retryAfterSeconds") if isinstance(holder, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


@dataclass
class RateLimits:
    """How long a run may still wait for rate-limit windows, and whether to wait this time."""

    api: str
    budget: float
    """Seconds the whole run may spend waiting (``--max-rate-limit-wait``)."""
    undocumented: float = 5.0
    """Longest wait for a vendor that documents no rate limit (a longer one stops the run)."""
    waited: float = 0.0

    @property
    def window(self) -> float:
        """The longest wait the vendor's documentation supports."""
        return DOCUMENTED_WINDOW.get(self.api, self.undocumented)

    def decide(self, response: HttpResponse) -> float | str:
        """Seconds to wait before asking again, or why the kit stops sending (a reason)."""
        said = reset_after(response)
        reset = self.window if said is None else said
        left = self.budget - self.waited
        if reset <= self.window and reset <= left:
            return reset
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=reset)
        why = (
            f"longer than the {self.window:g} s window {self.api} documents"
            if reset > self.window
            else f"more than the {max(left, 0):g} s left of --max-rate-limit-wait {self.budget:g}"
        )
        return (
            f"the server rate-limits this client (429); its window resets in {reset:g} s "
            f"(at {when:%H:%M:%S} UTC), {why}, so no further requests were sent - rerun after "
            "the reset"
        )

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` and charge them to the budget."""
        self.waited += seconds
        time.sleep(seconds)
