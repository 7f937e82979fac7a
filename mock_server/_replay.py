"""Replay of recorded traffic: ``stepspec mock --replay FILE.har [--replay-only]``.

``ReplayTable.load(paths)`` reads HAR files (``conformance.har.read_har``; a file that is not HAR
raises ``ConfigError("replay", ...)``, which the CLI prints as one line, exit 2) into a read-only
table, built once in the gunicorn master before the workers fork. ``install(app, table, only)``
adds an app-level ``before_request`` hook that runs after the mock's latency, injected faults and
credential check (``_app._prepare``) and before the vendors' own hooks and views:

- A request whose ``HarEntry.replay_key`` (method, percent-decoded path, query sorted with
  credential-like parameters redacted) was recorded gets the recorded answer: its status, its
  body byte for byte and the headers that carry meaning (``Content-Type``, vendor headers such as
  ``elastic-api-version`` or ``RateLimit-*``). Framing and hop-by-hop headers, the upstream's CORS
  headers (the mock adds its own), ``Set-Cookie`` and redacted values are left out. Every
  replayed answer carries ``X-Stepspec-Replayed: <file>#<entry index>``.
- A GET whose exact query was not recorded but that differs from a recorded GET only in its page
  size (``size``, ``limit``, ``page_size``...) or in naming the first page (``page=1``,
  ``offset=0``) gets that recording: the run viewer asks for pages of 100 while a session asked
  for pages of 10 or 20, and the recorded lists and runs must show there.
- When one request was recorded several times, the answer is the latest recorded one whose
  request agreed on carrying a credential, preferring a 2xx (a kit run records the same GET with
  a made-up key too, answered 401).
- A HEAD is answered as the recorded GET, without its body.
- Anything else goes to the seeded world, or with ``--replay-only`` is the vendor's own 404
  (the neutral 404 outside every API). The run viewer's own routes (``/_stepspec/``) and CORS
  preflights are never replayed.

Replayed answers are not marked cacheable (the response cache only ever holds seeded answers,
which replay never shadows: the table does not change while the server runs) and not validated
by ``--validate-responses`` (a recording is served as it was recorded).
"""

from __future__ import annotations

import os
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import Flask, Response, request

from conformance.har import REDACTED, HarEntry, NotHar, is_secret_header, is_secret_param, read_har
from mock_server._config import ConfigError
from mock_server._state import current_vendor

REPLAYED_HEADER = "X-Stepspec-Replayed"
"""Names the recording an answer came from (``session.har#12``)."""
PAGE_SIZE_PARAMS = frozenset({"size", "limit", "page_size", "per_page", "perPage", "pageSize"})
FIRST_PAGE = frozenset({("page", "1"), ("offset", "0")})
_VIEWER_PREFIX = "/_stepspec"
_DROPPED_HEADERS = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "content-length", "content-encoding", "date", "server", "set-cookie",
        "vary", "alt-svc", "strict-transport-security",
    }
)  # fmt: skip
"""Framing and hop-by-hop headers (HAR bodies are stored decoded, so ``Content-Encoding`` no
longer holds), and headers the serving mock sets itself."""

Query = tuple[tuple[str, str], ...]
Key = tuple[str, str, Query]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded answer, ready to be served."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source: str
    """``<file name>#<entry index>``."""
    credentialed: bool
    """Whether the recorded request carried a credential (its value is redacted)."""

    def response(self) -> Response:
        """The answer as recorded (see the module docstring for the headers left out)."""
        status = f"{self.status} {self.reason}" if self.reason else self.status
        response = Response(self.body, status=status, headers=list(self.headers))
        if not any(name.lower() == "content-type" for name, _ in self.headers):
            del response.headers["Content-Type"]  # werkzeug's default; the recording had none
        response.headers[REPLAYED_HEADER] = self.source
        return response


def query_key(query: Iterable[tuple[str, str]]) -> Query:
    """The query as ``HarEntry.replay_key`` has it: sorted, credential-like values redacted."""
    return tuple(sorted((k, REDACTED if is_secret_param(k) else v) for k, v in query))


def loose_query(query: Query) -> Query:
    """``query`` without its page size and without naming the first page (see the docstring)."""
    return tuple(
        (name, value)
        for name, value in query
        if name not in PAGE_SIZE_PARAMS and (name, value) not in FIRST_PAGE
    )


class ReplayTable:
    """Recorded answers by request (read-only once built; see the module docstring)."""

    def __init__(self, entries: Iterable[tuple[str, HarEntry]] = ()) -> None:
        self._exact: dict[Key, list[Recorded]] = defaultdict(list)
        self._loose: dict[Key, list[Recorded]] = defaultdict(list)
        for source, entry in entries:
            self._add(source, entry)

    @classmethod
    def load(cls, paths: Sequence[str]) -> ReplayTable:
        """The table of the HAR files ``paths``, in order (later recordings win ties)."""
        named: list[tuple[str, HarEntry]] = []
        for path in paths:
            try:
                entries = read_har(path)
            except NotHar as error:
                raise ConfigError("replay", str(error)) from None
            name = os.path.basename(path)
            named.extend((f"{name}#{index}", entry) for index, entry in enumerate(entries))
        return cls(named)

    def __len__(self) -> int:
        return sum(len(answers) for answers in self._exact.values())

    def _add(self, source: str, entry: HarEntry) -> None:
        method = entry.method.upper()
        if entry.status <= 0 or entry.error or method == "OPTIONS":
            return  # no answer to serve; preflights are the mock's own
        if entry.path.startswith(_VIEWER_PREFIX):
            return
        recorded = Recorded(
            status=entry.status,
            reason=entry.reason if _sendable(entry.reason) else "",
            headers=tuple(
                (name, value) for name, value in entry.response_headers if _kept(name, value)
            ),
            body=entry.response_body,
            source=source,
            credentialed=any(is_secret_header(name) for name, _ in entry.request_headers),
        )
        method, path, query = entry.replay_key
        self._exact[(method, path, query)].append(recorded)
        if method == "GET":
            self._loose[(method, path, loose_query(query))].append(recorded)

    def find(
        self, method: str, path: str, query: Iterable[tuple[str, str]], *, credentialed: bool
    ) -> Recorded | None:
        """The recorded answer to this request, or None (see the module docstring)."""
        verb = method.upper()
        key = ("GET" if verb == "HEAD" else verb, path, query_key(query))
        answers = self._exact.get(key)
        if not answers and key[0] == "GET":
            answers = self._loose.get((key[0], path, loose_query(key[2])))
        if not answers:
            return None
        alike = [answer for answer in answers if answer.credentialed == credentialed] or answers
        good = [answer for answer in alike if 200 <= answer.status < 300] or alike
        return good[-1]


def _kept(name: str, value: str) -> bool:
    lowered = name.lower()
    return (
        lowered not in _DROPPED_HEADERS
        and not lowered.startswith("access-control-")
        and REDACTED not in value
        and _sendable(name)
        and _sendable(value)
    )


def _sendable(text: str) -> bool:
    """Whether ``text`` can go on a header line (a hand-edited HAR may hold anything)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return "\r" not in text and "\n" not in text


def install(app: Flask, table: ReplayTable, *, only: bool) -> None:
    """Serve ``table`` from ``app`` (``only``: the vendor's 404 for what was not recorded)."""

    def replay() -> Response | None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        if req.method == "OPTIONS" or req.path.startswith(_VIEWER_PREFIX):
            return None
        query = urllib.parse.parse_qsl(req.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        credentialed = any(is_secret_header(name) for name, _ in req.headers.items())
        found = table.find(req.method, req.path, query, credentialed=credentialed)
        if found is not None:
            return found.response()
        if not only:
            return None
        vendor = current_vendor()
        return vendor.error_response(404) if vendor is not None else None

    app.before_request(replay)
