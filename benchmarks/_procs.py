"""Servers under test: start them on 127.0.0.1, wait until they answer, measure, stop them.

A ``Server`` is a subprocess in its own session (so it and every worker it forks can be
signalled together). ``stop`` always runs, from ``with`` blocks, on Ctrl-C and at interpreter exit,
and is bounded in time: SIGTERM to the master, then SIGKILL to the whole group.

Memory is read from ``/proc/<pid>/status`` (psutil is not a dependency): ``VmRSS`` is the
resident set now, ``VmHWM`` its high-water mark. Pages shared after ``fork`` count in every
process that maps them, so a sum over processes overstates the machine's use; the measures that
matter (one worker's growth) compare a process with itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_LIVE: set[Server] = set()
ROOT = Path(__file__).resolve().parent.parent
"""The directory that holds the ``benchmarks`` package (servers import their apps from it)."""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class ServerFailed(RuntimeError):
    """A server did not come up (the message carries the end of its log)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServerConfig:
    """How to serve a WSGI app: which server, worker class, how many workers and threads."""

    server: str = "gunicorn"
    """``gunicorn`` or ``granian``."""
    worker_class: str = "sync"
    """gunicorn's ``--worker-class`` (ignored by granian)."""
    workers: int = 2
    threads: int = 1
    extra_args: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Short name: ``gunicorn sync x2``, ``gunicorn gthread x2x4``, ``granian x2``."""
        if self.server == "granian":
            return f"granian x{self.workers}" + (f"x{self.threads}" if self.threads > 1 else "")
        threads = f"x{self.threads}" if self.threads > 1 else ""
        worker = self.worker_class.rsplit(".", 1)[-1]  # a class's dotted path: its name
        return f"gunicorn {worker} x{self.workers}{threads}"

    def command(self, app: str, port: int) -> list[str]:
        """The command line that serves ``app`` (``module:callable``) on 127.0.0.1:``port``."""
        if self.server == "granian":
            return [
                sys.executable, "-m", "granian", "--interface", "wsgi",
                "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(self.workers),
                *(["--blocking-threads", str(self.threads)] if self.threads > 1 else []),
                "--no-ws", "--log-level", "warning", *self.extra_args, app,
            ]  # fmt: skip
        return [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(self.workers), "--worker-class", self.worker_class,
            "--threads", str(self.threads),
            "--log-level", "warning", *self.extra_args, app,
        ]  # fmt: skip


@dataclass(eq=False)
class Server:
    """One server process tree; use as a context manager (see the module docstring)."""

    name: str
    app: str
    config: ServerConfig
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/"
    ready_headers: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    tree: Path | None = None
    """Another copy of the repository whose ``mock_server``/``conformance`` to import first
    (``--compare-tree``); None: this one."""
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _log_path: Path | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        """Start the server and wait until ``ready_path`` answers (any HTTP status)."""
        self.port = free_port()
        log_dir = self.log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
        self._log_path = log_dir / f"bench-{self.name.replace(' ', '_')}-{self.port}.log"
        log = self._log_path.open("wb")
        roots = [str(self.tree)] if self.tree is not None else []
        path = os.pathsep.join(filter(None, [*roots, str(ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        self.process = subprocess.Popen(
            self.config.command(self.app, self.port),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.tree or ROOT,  # ``python -m`` puts the working directory first on sys.path
            start_new_session=True,
        )
        log.close()
        _LIVE.add(self)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = self.base_url + self.ready_path
        request = urllib.request.Request(url, headers=dict(self.ready_headers))
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                self.stop()
                raise ServerFailed(f"{self.name} exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=5):
                    pass
            except urllib.error.HTTPError:
                pass  # it answers: that is all readiness means here
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.1)
                continue
            # Every worker must be up before measuring, not just the first one to accept.
            if len(self.worker_pids()) >= self.expected_workers():
                return
            time.sleep(0.1)
        self.stop()
        raise ServerFailed(
            f"{self.name} not ready after {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def expected_workers(self) -> int:
        """How many worker processes the master should fork."""
        return self.config.workers

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def worker_pids(self) -> list[int]:
        """The master's child processes (gunicorn and granian workers)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return children(self.process.pid)

    def memory(self) -> Memory:
        """Current and peak RSS of the master and each worker."""
        if self.process is None:
            return Memory(0, 0, ())
        master = read_status(self.process.pid)
        workers = tuple(read_status(pid) for pid in self.worker_pids())
        return Memory(master[0], master[1], workers)

    def stop(self) -> None:
        """Stop the whole process tree: SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``."""
        _LIVE.discard(self)
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Memory:
    """RSS in KiB: (now, peak) of the master and of each worker."""

    master_rss_kib: int
    master_hwm_kib: int
    workers: tuple[tuple[int, int], ...]

    @property
    def max_worker_rss_mib(self) -> float:
        """The largest worker's current RSS."""
        return max((rss for rss, _ in self.workers), default=0) / 1024

    @property
    def peak_total_mib(self) -> float:
        """Sum of the peak RSS of master and workers (shared pages counted in each)."""
        return (self.master_hwm_kib + sum(hwm for _, hwm in self.workers)) / 1024


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(part) for part in (task / "children").read_text().split()]
    return sorted(set(found))


def read_status(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of ``pid`` in KiB, (0, 0) if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return (0, 0)
    return parse_status(text)


def parse_status(text: str) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` in KiB from the text of ``/proc/<pid>/status``."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in values:
            values[parts[0]] = int(parts[1])
    return values["VmRSS:"], values["VmHWM:"]


def stop_all() -> None:
    """Stop every server still running (atexit and signal handlers call this)."""
    for server in list(_LIVE):
        server.stop()


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup() -> None:
    """Stop servers at exit and on SIGTERM/SIGHUP (Ctrl-C unwinds through ``with`` blocks)."""
    atexit.register(stop_all)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)


def run_python(code: str, args: Sequence[str] = (), timeout_s: float = 600) -> str:
    """Run ``code`` in a fresh interpreter (one core, no state shared with this process)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child interpreter failed:\n{done.stderr[-3000:]}")
    return done.stdout
