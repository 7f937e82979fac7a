"""HAR 1.2 recordings: the entry model, reading, bounded atomic writing, and redaction.

HAR (HTTP Archive 1.2, http://www.softwareishard.com/blog/har-12-spec/) is the browsers' own
format for recorded traffic, readable by devtools, Charles and HAR tools. stepspec records it
(``stepspec proxy --record``), replays it (``stepspec mock --replay``), judges it offline
(``stepspec check --har``) and mines it for drift (``stepspec drift``). This module is the one
reader and the one writer of the format; everything else sees ``HarEntry`` values.

Public API (stable; the proxy and the replaying mock build on it):

- ``HarEntry``: one exchange - method, URL, request headers and body, status, reason, response
  headers and body *bytes* (exact: a body that is not UTF-8 is stored base64-encoded), start
  time, total time and timings. ``query``, ``path``, ``header()`` and ``request_header()``
  read it; ``replay_key`` is (method, path, sorted query with credentials redacted), what a
  replaying server matches a live request on.
- ``read_har(path) -> list[HarEntry]``: raises ``NotHar`` (a ``UsageError``: one line, exit 2)
  for a file that is not HAR.
- ``HarWriter(path, max_bytes=None, redactor=Redactor())``: ``add(entry) -> bool`` keeps an
  entry unless the recording would pass ``max_bytes`` (then it counts it as ``dropped``);
  ``flush()``/``close()`` write the whole file atomically (a temporary file renamed over the
  target), so a reader never sees half a recording. Thread-safe. A context manager.
- ``Redactor(fields=())``: ``redact(entry) -> HarEntry``. Credential headers (``Authorization``,
  ``x-api-key``, ``Cookie``, ``Set-Cookie`` and any header whose name looks like a credential,
  ``kbn-*`` included) and credential-like query parameters become ``[redacted]``; JSON body
  fields named in ``fields`` are masked at any depth. A secret value it removed from a header
  or the query is also scrubbed from every later URL, header and body, so a server echoing a
  key back cannot leak it into the file. The writer redacts every entry it is given.
- ``redact_url(url)``, ``is_secret_header(name)``, ``is_secret_param(name)``: the same rules
  for one value (reports mask the requests they show with them).
- ``entry_to_har(entry)`` / ``entry_from_har(node)``: one entry as a HAR ``entries`` item.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import threading
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import _json
from conformance.errors import UsageError

__all__ = [
    "REDACTED",
    "HarEntry",
    "HarWriter",
    "NotHar",
    "Redactor",
    "entry_from_har",
    "entry_to_har",
    "is_secret_header",
    "is_secret_param",
    "read_har",
    "redact_url",
]

REDACTED = "[redacted]"
HAR_VERSION = "1.2"
CREATOR = "stepspec"

Headers = tuple[tuple[str, str], ...]


class NotHar(UsageError):
    """A file given as a HAR recording that is not one (the CLI says so in one line, exit 2)."""


@dataclass(frozen=True)
class HarEntry:
    """One recorded exchange (see the module docstring)."""

    method: str
    url: str
    request_headers: Headers = ()
    request_body: bytes = b""
    status: int = 0
    """HTTP status; 0 when no response arrived (HAR's convention)."""
    reason: str = ""
    response_headers: Headers = ()
    response_body: bytes = b""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    time_ms: float = 0.0
    """Total time of the exchange in milliseconds."""
    timings: Mapping[str, float] = field(default_factory=dict)
    """HAR timings (``send``, ``wait``, ``receive``, ...); missing ones are written as derived."""
    http_version: str = "HTTP/1.1"
    comment: str = ""
    error: str = ""
    """Why the exchange is incomplete, as ``<kind>: <message>`` with a kind of
    ``conformance._client.ErrorKind`` (``timeout: no answer within 10 s``); HAR's ``_error``."""

    @property
    def path(self) -> str:
        """The URL's path, percent-decoded."""
        return urllib.parse.unquote(urllib.parse.urlsplit(self.url).path) or "/"

    @property
    def query(self) -> tuple[tuple[str, str], ...]:
        """The URL's query parameters in order (blank values kept)."""
        return tuple(
            urllib.parse.parse_qsl(urllib.parse.urlsplit(self.url).query, keep_blank_values=True)
        )

    @property
    def replay_key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What identifies the request for replay: method, path, and the query sorted, with
        credential-like parameters as ``[redacted]`` (so a live request with a real token finds
        the recorded one, whose token was redacted)."""
        query = ((k, REDACTED if is_secret_param(k) else v) for k, v in self.query)
        return self.method.upper(), self.path, tuple(sorted(query))

    def header(self, name: str) -> str | None:
        """The response header ``name`` (case-insensitive; repeated ones joined by ``, ``)."""
        return _header(self.response_headers, name)

    def request_header(self, name: str) -> str | None:
        """The request header ``name`` (case-insensitive; repeated ones joined by ``, ``)."""
        return _header(self.request_headers, name)


def _header(headers: Headers, name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name.lower()]
    return ", ".join(values) if values else None


# -- redaction ------------------------------------------------------------------------------------

SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
_CREDENTIAL_NAME = re.compile(
    r"auth|token|secret|passw|api[-_]?key|session|cookie|credential|signature", re.IGNORECASE
)
SECRET_QUERY = frozenset(
    {"key", "apikey", "api_key", "api-key", "token", "access_token", "refresh_token", "id_token",
     "auth", "password", "secret", "client_secret", "sig", "signature", "session", "code"}
)  # fmt: skip
_MIN_SCRUB = 6
"""Secret values shorter than this are not scrubbed from bodies (they would hit ordinary text)."""


def is_secret_header(name: str) -> bool:
    """Whether a header carries a credential (its value is never recorded)."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or bool(_CREDENTIAL_NAME.search(lowered))


def is_secret_param(name: str) -> bool:
    """Whether a query parameter carries a credential (its value is never recorded)."""
    lowered = name.lower()
    return lowered in SECRET_QUERY or bool(_CREDENTIAL_NAME.search(lowered))


class Redactor:
    """Removes credentials (and the body fields named in ``fields``) from entries."""

    def __init__(self, fields: Iterable[str] = ()) -> None:
        self.fields = frozenset(name.lower() for name in fields)
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def redact(self, entry: HarEntry) -> HarEntry:
        """``entry`` with every credential and named body field replaced by ``[redacted]``."""
        with self._lock:
            request_headers = self._headers(entry.request_headers)
            response_headers = self._headers(entry.response_headers)
            url = self._url(entry.url)
            secrets = sorted(self._secrets, key=len, reverse=True)
        return replace(
            entry,
            url=_scrub_text(url, secrets),
            request_headers=tuple((k, _scrub_text(v, secrets)) for k, v in request_headers),
            response_headers=tuple((k, _scrub_text(v, secrets)) for k, v in response_headers),
            request_body=self._body(entry.request_body, secrets),
            response_body=self._body(entry.response_body, secrets),
        )

    def _remember(self, value: str) -> None:
        value = value.strip()
        if not value or value == REDACTED:
            return
        self._secrets.add(value)
        # "ApiKey abc", "Bearer abc": the key alone must not survive either.
        _, _, bare = value.partition(" ")
        if bare.strip():
            self._secrets.add(bare.strip())
        for part in re.split(r"[;,]\s*", value):  # cookies: name=value; name2=value2
            _, sep, cookie = part.partition("=")
            if sep and cookie.strip():
                self._secrets.add(cookie.strip())

    def _headers(self, headers: Headers) -> Headers:
        kept: list[tuple[str, str]] = []
        for name, value in headers:
            if is_secret_header(name):
                self._remember(value)
                kept.append((name, REDACTED))
            else:
                kept.append((name, value))
        return tuple(kept)

    def _url(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.username or parts.password:
            self._remember(parts.password or "")
            parts = parts._replace(netloc=parts.hostname or "")
        if not parts.query:
            return urllib.parse.urlunsplit(parts)
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        changed = False
        out: list[tuple[str, str]] = []
        for name, value in pairs:
            if is_secret_param(name) and value:
                self._remember(value)
                out.append((name, REDACTED))
                changed = True
            else:
                out.append((name, value))
        query = urllib.parse.urlencode(out, safe="[]") if changed else parts.query
        return urllib.parse.urlunsplit(parts._replace(query=query))

    def _body(self, body: bytes, secrets: Sequence[str]) -> bytes:
        if not body:
            return body
        if self.fields:
            body = _redact_json_fields(body, self.fields)
        for secret in secrets:
            if len(secret) >= _MIN_SCRUB:
                body = body.replace(secret.encode(), REDACTED.encode())
        return body


def redact_url(url: str) -> str:
    """``url`` with its credential-like query parameters and user info read ``[redacted]``."""
    return Redactor()._url(url)


def _scrub_text(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if len(secret) >= _MIN_SCRUB:
            text = text.replace(secret, REDACTED)
    return text


def _redact_json_fields(body: bytes, fields: frozenset[str]) -> bytes:
    try:
        document = _json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    masked, changed = _mask(document, fields)
    return json.dumps(masked, ensure_ascii=False).encode() if changed else body


def _mask(node: Any, fields: frozenset[str]) -> tuple[Any, bool]:
    if isinstance(node, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key.lower() in fields:
                out[key], changed = REDACTED, True
            else:
                out[key], sub = _mask(value, fields)
                changed = changed or sub
        return out, changed
    if isinstance(node, list):
        items = [_mask(item, fields) for item in node]
        return [item for item, _ in items], any(sub for _, sub in items)
    return node, False


# -- HAR <-> entries ------------------------------------------------------------------------------


def _mime(headers: Headers) -> str:
    return _header(headers, "content-type") or ""


def _content(body: bytes, mime: str) -> dict[str, Any]:
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if not body:
        return content
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(body).decode("ascii")
        content["encoding"] = "base64"
    return content


def entry_to_har(entry: HarEntry) -> dict[str, Any]:
    """``entry`` as one item of a HAR 1.2 ``log.entries`` list (cookies are never listed)."""
    request: dict[str, Any] = {
        "method": entry.method.upper(),
        "url": entry.url,
        "httpVersion": entry.http_version,
        "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in entry.request_headers],
        "queryString": [{"name": k, "value": v} for k, v in entry.query],
        "headersSize": -1,
        "bodySize": len(entry.request_body),
    }
    if entry.request_body:
        posted = _content(entry.request_body, _mime(entry.request_headers))
        request["postData"] = {
            "mimeType": posted["mimeType"],
            "text": posted.get("text", ""),
            **({"comment": "base64"} if "encoding" in posted else {}),
        }
    location = entry.header("location") or ""
    response = {
        "status": entry.status,
        "statusText": entry.reason,
        "httpVersion": entry.http_version,
        "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in entry.response_headers],
        "content": _content(entry.response_body, _mime(entry.response_headers)),
        "redirectURL": location,
        "headersSize": -1,
        "bodySize": len(entry.response_body) if entry.status else -1,
    }
    timings = {"send": 0.0, "wait": float(entry.time_ms), "receive": 0.0, **entry.timings}
    node: dict[str, Any] = {
        "startedDateTime": entry.started.astimezone(UTC).isoformat(timespec="milliseconds"),
        "time": float(entry.time_ms),
        "request": request,
        "response": response,
        "cache": {},
        "timings": timings,
    }
    if entry.comment:
        node["comment"] = entry.comment
    if entry.error:
        node["_error"] = entry.error
    return node


def _pairs(nodes: Any, where: str) -> Headers:
    if nodes is None:
        return ()
    if not isinstance(nodes, list):
        raise ValueError(f"{where} is not a list")
    out: list[tuple[str, str]] = []
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            raise ValueError(f"{where} has an item without a name")
        out.append((node["name"], str(node.get("value", ""))))
    return tuple(out)


def _decode(content: Any, where: str) -> bytes:
    if not isinstance(content, dict):
        return b""
    text = content.get("text")
    if text is None:
        return b""
    if not isinstance(text, str):
        raise ValueError(f"{where}.text is not a string")
    if content.get("encoding") == "base64" or content.get("comment") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except ValueError as error:
            raise ValueError(f"{where}.text is not valid base64") from error
    return text.encode("utf-8")


def entry_from_har(node: Any, where: str = "entry") -> HarEntry:
    """One HAR ``entries`` item as a ``HarEntry``; ``ValueError`` says what is missing."""
    if not isinstance(node, dict):
        raise ValueError(f"{where} is not an object")
    request, response = node.get("request"), node.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise ValueError(f"{where} has no request or response object")
    method, url, status = request.get("method"), request.get("url"), response.get("status")
    if not isinstance(method, str) or not isinstance(url, str):
        raise ValueError(f"{where}.request has no method or url")
    if not isinstance(status, int) or isinstance(status, bool):
        raise ValueError(f"{where}.response.status is not an integer")
    started_text = node.get("startedDateTime")
    try:
        started = datetime.fromisoformat(str(started_text).replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"{where}.startedDateTime is not a date-time") from error
    raw_timings = node.get("timings")
    timings: dict[str, Any] = raw_timings if isinstance(raw_timings, dict) else {}
    return HarEntry(
        method=method.upper(),
        url=url,
        request_headers=_pairs(request.get("headers"), f"{where}.request.headers"),
        request_body=_decode(request.get("postData"), f"{where}.request.postData"),
        status=status,
        reason=str(response.get("statusText", "")),
        response_headers=_pairs(response.get("headers"), f"{where}.response.headers"),
        response_body=_decode(response.get("content"), f"{where}.response.content"),
        started=started if started.tzinfo else started.replace(tzinfo=UTC),
        time_ms=float(node.get("time") or 0.0),
        timings={k: float(v) for k, v in timings.items() if isinstance(v, int | float)},
        http_version=str(request.get("httpVersion") or "HTTP/1.1"),
        comment=str(node.get("comment", "")),
        error=str(node.get("_error", "")),
    )


def read_har(path: str | os.PathLike[str]) -> list[HarEntry]:
    """The entries of the HAR file at ``path``; ``NotHar`` (one line) if it is not HAR."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            document = _json.loads(handle.read(), mostly_text=True)
    except FileNotFoundError:
        raise NotHar(f"{name}: no such file") from None
    except OSError as error:
        raise NotHar(f"{name}: cannot be read ({error.strerror})") from None
    except (ValueError, UnicodeDecodeError):
        raise NotHar(f"{name} is not a HAR file: it is not JSON") from None
    log = document.get("log") if isinstance(document, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise NotHar(f"{name} is not a HAR file: it has no log.entries list") from None
    try:
        return [
            entry_from_har(item, f"log.entries[{index}]")
            for index, item in enumerate(log["entries"])
        ]
    except ValueError as error:
        raise NotHar(f"{name} is not a valid HAR file: {error}") from None


# -- writing --------------------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stepspec")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0"


class HarWriter:
    """Collects entries and writes them as one HAR 1.2 file (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise UsageError(f"the recording bound must be positive, got {max_bytes!r} bytes")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise UsageError(f"cannot record to {self.path}: {self.path.parent} is not a directory")
        self.max_bytes = max_bytes
        self.redactor = redactor if redactor is not None else Redactor()
        self.dropped = 0
        """Entries left out because the recording reached ``max_bytes``."""
        self._items: list[str] = []
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, entry: HarEntry) -> bool:
        """Keep ``entry`` (redacted); False when it would take the file past ``max_bytes``."""
        text = json.dumps(entry_to_har(self.redactor.redact(entry)), ensure_ascii=False)
        size = len(text.encode("utf-8")) + 2
        with self._lock:
            if self.max_bytes is not None and self._size + size + 512 > self.max_bytes:
                self.dropped += 1
                return False
            self._items.append(text)
            self._size += size
        return True

    def document(self) -> str:
        """The whole HAR file as text."""
        with self._lock:
            items, dropped = list(self._items), self.dropped
        log: dict[str, Any] = {
            "version": HAR_VERSION,
            "creator": {"name": CREATOR, "version": _version()},
            "pages": [],
            "entries": [],
        }
        if dropped:
            log["comment"] = (
                f"{dropped} exchange(s) left out: the recording reached its bound of "
                f"{self.max_bytes} bytes"
            )
        head = json.dumps({"log": log}, ensure_ascii=False, indent=1)
        marker = '"entries": []'
        body = "[\n" + ",\n".join(items) + "\n]" if items else "[]"
        return head.replace(marker, f'"entries": {body}', 1) + "\n"

    def flush(self) -> None:
        """Write the file now, atomically (a temporary file renamed over ``path``)."""
        text = self.document()
        directory = self.path.parent if str(self.path.parent) else Path(".")
        fd, temporary = tempfile.mkstemp(prefix=".har-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    close = flush

    def __enter__(self) -> HarWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
