"""The ceiling: nginx serving the mock's exact bytes, an arm of every HTTP block (issue 15).

nginx answers each measured URL (the warm URLs and the big payloads) with the bytes the mock
answered for it: status 200, ``Content-Type: application/json``, the same body, read from a file
(``location = <path>`` with ``alias``; the query string is ignored, as by the Python baseline).
It runs unprivileged in the foreground with a prefix directory of its own (``-p``), as the
tests run ``docs/nginx-replicas.conf``, with ``worker_processes 2`` (the machine's cores) and
keep-alive, on 127.0.0.1 and a free port. Any other path gets 404.

``NginxConfig`` plugs nginx into ``_procs.Server`` (start, readiness, ``/proc`` memory, bounded
stop), so its arm is interleaved with the others like any server. ``nginx_conf`` is pure and
tested; without nginx installed the harness leaves the arm out and says so.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from benchmarks._procs import Server, ServerConfig, ServerFailed

WORKERS = 2
"""One per core of the benchmark machine."""
INSTALL_HINT = "nginx is not installed (apt-get install nginx)"


def find_nginx() -> str | None:
    """The nginx binary (PATH, then ``/usr/sbin`` and ``/sbin``, where Debian puts it)."""
    found = shutil.which("nginx")
    if found:
        return found
    for directory in ("/usr/sbin", "/sbin"):
        candidate = Path(directory) / "nginx"
        if candidate.is_file():
            return str(candidate)
    return None


def _quoted(text: str) -> str:
    """``text`` as one double-quoted nginx configuration token."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def location_path(url_path: str) -> str:
    """What nginx matches a ``location =`` against: the path without its query string,
    percent-decoded (nginx compares the decoded URI, as a WSGI server's ``PATH_INFO`` is)."""
    return unquote(url_path.split("?", 1)[0])


def nginx_conf(
    port: int, bodies: Mapping[str, Path], workers: int = WORKERS, user: str | None = None
) -> str:
    """An nginx configuration answering each URL path of ``bodies`` with its file's bytes.

    ``user``: the workers' user, for a master started as root (nginx's default, ``nobody``,
    cannot read the harness's private temporary directory); unprivileged, nginx has no say."""
    locations = []
    seen: set[str] = set()
    for url_path, file in bodies.items():
        path = location_path(url_path)
        if path in seen:  # the first body of a path wins, as in ``constant_app``
            continue
        seen.add(path)
        locations.append(
            f"        location = {_quoted(path)} {{\n"
            f"            alias {_quoted(str(Path(file).resolve()))};\n"
            "        }"
        )
    user_line = f"user {user};\n" if user else ""
    return f"""\
# Written by benchmarks/_nginx.py: the mock's bytes, served by nginx (the ceiling).
{user_line}worker_processes {workers};
pid nginx.pid;
error_log logs/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    types {{ }}
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=64 inactive=600s;
    open_file_cache_valid 600s;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;

    server {{
        listen 127.0.0.1:{port};
{chr(10).join(locations)}
        location / {{
            return 404;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class NginxConfig(ServerConfig):
    """nginx as a ``_procs.Server``: ``command`` writes the configuration for its port into
    ``prefix`` and returns the foreground command line."""

    server: str = "nginx"
    workers: int = WORKERS
    executable: str = "nginx"
    prefix: Path = Path("nginx")
    bodies: Mapping[str, Path] = field(default_factory=dict, hash=False, compare=False)

    @property
    def label(self) -> str:
        """``nginx x2``."""
        return f"nginx x{self.workers}"

    def command(self, app: str, port: int) -> list[str]:
        """Write ``<prefix>/nginx.conf`` for ``port``; the command that runs it (``app`` is
        unused: nginx serves files)."""
        (self.prefix / "logs").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None
        conf.write_text(nginx_conf(port, self.bodies, self.workers, user))
        return [
            self.executable, "-p", f"{self.prefix}/", "-c", str(conf),
            "-e", str(self.prefix / "logs" / "error.log"), "-g", "daemon off;",
        ]  # fmt: skip


def verify(server: Server, bodies: Mapping[str, Path]) -> None:
    """Raise ``ServerFailed`` unless ``server`` answers every path of ``bodies`` with 200,
    ``application/json`` and exactly its file's bytes."""
    for path, file in bodies.items():
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=30) as response:
                status, kind, body = (
                    response.status,
                    response.headers["Content-Type"],
                    response.read(),
                )
        except (OSError, urllib.error.URLError) as error:
            raise ServerFailed(f"{server.name}: GET {path} failed: {error}") from error
        if (status, kind, body) != (200, "application/json", file.read_bytes()):
            raise ServerFailed(
                f"{server.name}: GET {path} answered {status} {kind}, {len(body):,} bytes, "
                f"not the {file.stat().st_size:,} bytes of {file}"
            )


def nginx_server(executable: str, bodies: Mapping[str, Path], workdir: Path) -> Server:
    """A (not yet started) nginx answering ``bodies`` (URL path -> file) under ``workdir``."""
    ready = next(iter(bodies), "/")
    prefix = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir)).resolve()
    config = NginxConfig(executable=executable, prefix=prefix, bodies=dict(bodies))
    return Server("nginx", "", config, ready_path=ready, log_dir=workdir)
