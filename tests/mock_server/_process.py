"""``stepspec mock`` in a process of its own, as a user starts it (for tests of the served mock)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

LAUNCH = "from conformance.cli import main; main()"
SERVERS = ("gunicorn", "granian")
"""``stepspec mock --server`` choices: tests of the served mock that matter run under both."""


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServedMock:
    """A ``stepspec mock`` that came up; its stderr is collected by a thread."""

    def __init__(self, *args: str, server: str = "gunicorn") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chosen = ("--server", server) if server != SERVERS[0] else ()  # default: as users run it
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "mock", "--port", str(self.port), *chosen, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 60
        while not any("Ctrl-C stops" in line for line in list(self.lines)):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "the mock did not come up"
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def interrupt(self, sig: signal.Signals = signal.SIGINT, *, group: bool = True) -> float:
        """Ctrl-C in a terminal (SIGINT to the whole group; or ``sig`` to the master alone when
        not ``group``); seconds until the mock exited."""
        began = time.monotonic()
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        elapsed = time.monotonic() - began
        self.reader.join(timeout=5)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return elapsed

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


@contextmanager
def served(*args: str, server: str = "gunicorn") -> Iterator[ServedMock]:
    """A ``ServedMock`` for a block (a module fixture): interrupted at the end, which must leave
    no traceback in its stderr."""
    mock = ServedMock(*args, server=server)
    try:
        yield mock
    finally:
        mock.interrupt()
        assert "Traceback" not in mock.stderr, mock.stderr
