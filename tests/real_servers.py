"""Real Redis and nginx for the multi-host tests, started on free ports of 127.0.0.1.

``redis_server`` is one ``redis-server`` per session (persistence off: ``--save ""``,
``--appendonly no``); tests keep apart by key prefix. ``start_redis`` starts others (the fault
tests stop and restart theirs). ``start_nginx`` runs nginx with ``docs/nginx-replicas.conf``, the
README's example, with only its ports replaced.

A missing binary skips these tests on a developer's machine and fails them in CI (``CI`` set):
``.ci/run`` installs ``redis-server`` and ``nginx``, so a missing one there is a broken setup.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

NGINX_EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "nginx-replicas.conf"
EXAMPLE_LISTEN = 8080
EXAMPLE_REPLICAS = (8081, 8082)


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binary(name: str) -> str:
    """The path of ``name``; skipped without it, unless in CI, where it is a failure."""
    found = shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).is_file()), None
    )
    if found:
        return found
    message = f"{name} is not installed (apt-get install {name})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run installs it, so CI must have it", pytrace=False)
    pytest.skip(message)


@dataclass
class RedisServer:
    """One ``redis-server`` process."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        """``redis://127.0.0.1:<port>/<db>``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        """A redis-py client of database ``db``."""
        return redis.Redis(port=self.port, db=db, socket_timeout=5)

    def stop(self, *, save: bool = False) -> None:
        """Shut down (``save``: write the data first, so ``restart`` finds it again)."""
        if self.process.poll() is None:
            if save:
                self.client().save()
            self.process.terminate()  # redis-server shuts down on SIGTERM (no save: --save "")
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> RedisServer:
        """A new server on the same port and directory (loads what ``stop(save=True)`` saved)."""
        return start_redis(self.directory, self.port)


def start_redis(directory: Path, port: int | None = None) -> RedisServer:
    """``redis-server`` on 127.0.0.1 (persistence off), ready to answer."""
    executable = binary("redis-server")
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [
        executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(directory), "--logfile", "redis.log",
        "--daemonize", "no",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(port, directory, process)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            log = (directory / "redis.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"redis-server exited early: {log}")
        try:
            if server.client().ping():
                return server
        except redis.exceptions.RedisError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"redis-server on port {port} did not come up") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One Redis for the session; tests keep apart by their own key prefix."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Nginx:
    """nginx running ``docs/nginx-replicas.conf`` with its ports replaced."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> str:
        """Stop nginx; returns its error log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def nginx_config(listen: int, replicas: list[int]) -> str:
    """The README's example config with the balancer on ``listen`` and these replica ports."""
    text = NGINX_EXAMPLE.read_text()
    servers = re.findall(r"^\s*server 127\.0\.0\.1:(\d+)", text, re.MULTILINE)
    assert [int(p) for p in servers] == list(EXAMPLE_REPLICAS), servers
    lines = "\n".join(f"        server 127.0.0.1:{port};" for port in replicas)
    text = re.sub(r"(?:^\s*server 127\.0\.0\.1:\d+;\n)+", lines + "\n", text, flags=re.MULTILINE)
    text, count = re.subn(
        rf"listen 127\.0\.0\.1:{EXAMPLE_LISTEN};", f"listen 127.0.0.1:{listen};", text
    )
    assert count == 1, "the example must listen on 127.0.0.1:8080"
    return text


def start_nginx(directory: Path, replicas: list[int]) -> Nginx:
    """nginx in the foreground (its own prefix directory) balancing over ``replicas``."""
    executable = binary("nginx")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "logs").mkdir(exist_ok=True)
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(nginx_config(port, replicas))
    log = directory / "logs" / "error.log"
    command = [
        executable, "-p", f"{directory}/", "-c", str(config), "-e", str(log), "-g", "daemon off;"
    ]  # fmt: skip
    with (directory / "stderr.log").open("wb") as stderr:  # the child keeps its own descriptor
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    server = Nginx(f"http://127.0.0.1:{port}", process, log)
    import socket

    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            errors = (directory / "stderr.log").read_text(errors="replace")
            raise AssertionError(f"nginx exited early: {errors} {server.stop()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise AssertionError("nginx did not come up") from None
            time.sleep(0.05)
