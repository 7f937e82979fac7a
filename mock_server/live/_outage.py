"""One log line per store outage, not one per request.

While a networked live-run store is unavailable every request that needs it is answered 503
(``mock_server._app``), and the rate limiter, coverage and auto runs carry on without it. Each
of them reports the fault here; a process logs it as one warning line (no traceback) at most
every ``EVERY_S`` seconds, so a Redis restart leaves a few lines, not thousands.
"""

from __future__ import annotations

import logging
import threading
import time

EVERY_S = 30.0
_log = logging.getLogger("mock_server.live")
_lock = threading.Lock()
_last = [float("-inf")]


def note_outage(error: BaseException, what: str = "live-run store unavailable") -> bool:
    """Log ``error`` as one line unless this process did so in the last ``EVERY_S`` seconds;
    returns whether it logged."""
    now = time.monotonic()
    with _lock:
        if now - _last[0] < EVERY_S:
            return False
        _last[0] = now
    _log.warning("stepspec mock: %s (%s); carrying on without it until it returns", what, error)
    return True
