"""``stepspec mock --replay``: a recorded session served back byte for byte (``_replay``).

Recordings are made the way a user makes them: ``stepspec check`` against the mock, recorded as
HAR (``tests.conformance.recording``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from conformance.har import HarEntry, HarWriter, is_secret_header
from mock_server._replay import REPLAYED_HEADER
from tests.conformance.recording import Recording, record_kit_run
from tests.conformance.replaying import AUTH, VIEWER, rename_run, viewer_runs
from tests.mock_server._process import LAUNCH, ServedMock


def _target(entry: HarEntry) -> str:
    parts = urllib.parse.urlsplit(entry.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _credentialed(entry: HarEntry) -> bool:
    return any(is_secret_header(name) for name, _ in entry.request_headers)


def _groups(recording: Recording) -> dict[Any, list[HarEntry]]:
    """Credentialed recorded exchanges by replay key."""
    found: dict[Any, list[HarEntry]] = defaultdict(list)
    for entry in recording.entries:
        if entry.status and entry.method != "OPTIONS" and _credentialed(entry):
            found[entry.replay_key].append(entry)
    return found


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_replayed_answers_equal_the_recorded_ones_byte_for_byte(
    api: str, tmp_path: Path, app_factory: Callable[..., Flask]
) -> None:
    recording = record_kit_run(tmp_path, app_factory, api)
    client = app_factory(replay=[str(recording.path)], replay_only=True).test_client()
    same = mixed = 0
    for entries in _groups(recording).values():
        first = entries[0]
        response = client.open(_target(first), method=first.method, headers=AUTH[api])
        assert response.headers[REPLAYED_HEADER].startswith(f"{api}.har#")
        if len({(e.status, e.response_body) for e in entries}) == 1:
            same += 1
            assert response.status_code == first.status, first.url
            assert response.get_data() == first.response_body, first.url
            assert response.headers.get("Content-Type") == first.header("Content-Type")
        else:  # asked several times (a made-up key, then the real one): the 2xx answer wins
            mixed += 1
            statuses = {e.status for e in entries}
            if any(200 <= s < 300 for s in statuses):
                assert 200 <= response.status_code < 300, first.url
            assert response.get_data() in {e.response_body for e in entries}
    assert same >= 5, f"only {same} distinct recorded requests were compared"
    assert mixed + same == len(_groups(recording))


def test_the_served_mock_replays_byte_for_byte_under_gunicorn(
    tmp_path: Path, app_factory: Callable[..., Flask]
) -> None:
    """``stepspec mock --replay FILE --replay-only`` as a user starts it (2 workers, preload)."""
    recording = record_kit_run(tmp_path, app_factory, "trigify")
    single = [
        entries[0]
        for entries in _groups(recording).values()
        if len(entries) == 1 and entries[0].method == "GET"
    ]
    assert len(single) >= 3
    mock = ServedMock("--replay", str(recording.path), "--replay-only", "--workers", "2")
    try:
        assert "Replay" in mock.stderr
        for entry in single:
            response = requests.get(mock.url + _target(entry), headers=AUTH["trigify"], timeout=10)
            assert response.status_code == entry.status, entry.url
            assert response.content == entry.response_body, entry.url
        missing = requests.get(f"{mock.url}/v1/workflows/nope", headers=AUTH["trigify"], timeout=10)
        assert missing.status_code == 404
        assert REPLAYED_HEADER not in missing.headers
    finally:
        mock.interrupt()


UNRECORDED = {
    "kibana": "/api/workflows?size=7",
    "arcee": "/api/v1/workflow/workflows",
    "trigify": "/v1/workflows?limit=3",
}


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_replay_only_answers_the_vendors_404_for_what_was_not_recorded(
    api: str, tmp_path: Path, app_factory: Callable[..., Flask]
) -> None:
    path = tmp_path / "one.har"
    with HarWriter(path) as writer:
        writer.add(HarEntry("GET", "http://upstream/elsewhere", status=200, response_body=b"{}"))
    only = app_factory(replay=[str(path)], replay_only=True)
    response = only.test_client().get(UNRECORDED[api], headers=AUTH[api])
    assert response.status_code == 404
    assert REPLAYED_HEADER not in response.headers
    with only.app_context():
        vendor = next(v for v in only.extensions["stepspec"].vendors if v.name == api)
        assert response.get_data() == vendor.error_response(404).get_data()
    # The viewer keeps working, and without --replay-only the seeded world answers.
    assert only.test_client().get("/_stepspec/meta").status_code == 200
    seeded = app_factory(replay=[str(path)]).test_client().get(UNRECORDED[api], headers=AUTH[api])
    assert seeded.status_code == 200


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_a_recorded_run_shows_in_the_viewer_and_opens(
    api: str, tmp_path: Path, app_factory: Callable[..., Flask]
) -> None:
    """A run only the recording knows is listed on the viewer's paths and its detail opens,
    although the viewer asks for other page sizes than the recorded session did."""
    recording = record_kit_run(tmp_path, app_factory, api)
    replayed = app_factory(replay=[str(recording.path)], replay_only=True).test_client()
    shown = viewer_runs(replayed, api)
    assert shown, "the viewer's paths show no recorded run"
    workflow, run = shown[0]
    new = "recorded-run-0001"
    renamed = rename_run(recording, run, new, tmp_path / "renamed.har")
    client = app_factory(replay=[str(renamed)]).test_client()
    assert (workflow, new) in viewer_runs(client, api)
    detail = client.get(VIEWER[api]["run"](workflow, new), headers=AUTH[api])
    recorded = next(
        e
        for e in recording.entries
        if e.method == "GET" and e.status == 200 and e.path == VIEWER[api]["run"](workflow, run)
    )
    assert detail.get_data() == recorded.response_body.replace(run.encode(), new.encode())
    plain = app_factory().test_client()
    assert plain.get(VIEWER[api]["run"](workflow, new), headers=AUTH[api]).status_code == 404


def _run_mock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, "mock", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json at all", "is not a HAR file: it is not JSON"),
        (json.dumps({"log": {"version": "1.2"}}), "it has no log.entries list"),
        (None, "no such file"),
    ],
)
def test_a_replay_file_that_is_not_har_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "session.har"
    if content is not None:
        path.write_text(content)
    result = _run_mock("--replay", str(path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stepspec: usage error: --replay: ")
    assert needle in lines[0]


def test_replay_only_without_a_recording_is_a_usage_error() -> None:
    result = _run_mock("--replay-only")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "stepspec: usage error: --replay-only: needs at least one recording to replay (--replay)"
    )


def _answer(status: int, body: bytes, *, key: bool = True, **extra: Any) -> HarEntry:
    return HarEntry(
        "GET",
        "http://upstream/api/workflows/executions/e1?size=20&page=1",
        request_headers=(("Authorization", "[redacted]"),) if key else (),
        status=status,
        response_headers=(
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Access-Control-Allow-Origin", "https://staging.example"),
            ("elastic-api-version", "2023-10-31"),
            ("Set-Cookie", "[redacted]"),
            ("X-Broken", "two\nlines"),
            ("X-Unicode", "\u2713"),
        ),
        response_body=body,
        **extra,
    )


def test_the_table_prefers_a_2xx_of_a_request_alike_in_credentials() -> None:
    from mock_server._replay import ReplayTable

    table = ReplayTable(
        [
            ("a.har#0", _answer(200, b'{"ok":1}')),
            ("a.har#1", _answer(401, b'{"no":1}')),  # a made-up key, asked after
            ("a.har#2", _answer(401, b'{"anonymous":1}', key=False)),
            ("a.har#3", _answer(0, b"", error="timeout: no answer")),
        ]
    )
    exact = [("page", "1"), ("size", "20")]
    assert table.find("GET", "/api/workflows/executions/e1", exact, credentialed=True) == (
        table.find("get", "/api/workflows/executions/e1", [("size", "100")], credentialed=True)
    )
    found = table.find("GET", "/api/workflows/executions/e1", exact, credentialed=True)
    assert found is not None
    assert (found.status, found.body) == (200, b'{"ok":1}')
    alone = table.find("GET", "/api/workflows/executions/e1", exact, credentialed=False)
    assert alone is not None
    assert alone.body == b'{"anonymous":1}'
    # A page other than the first, or another filter, is not the recorded request.
    assert (
        table.find("GET", "/api/workflows/executions/e1", [("page", "2")], credentialed=True)
        is None
    )
    assert table.find("POST", "/api/workflows/executions/e1", exact, credentialed=True) is None
    headers = dict(found.headers)
    assert headers == {"Content-Type": "application/json", "elastic-api-version": "2023-10-31"}


def test_a_replayed_answer_gets_the_mocks_cors_not_the_upstreams(
    tmp_path: Path, app_factory: Callable[..., Flask]
) -> None:
    path = tmp_path / "one.har"
    with HarWriter(path) as writer:
        writer.add(_answer(200, b'{"ok":1}'))
    client = app_factory(replay=[str(path)]).test_client()
    headers = {**AUTH["kibana"], "Origin": "http://localhost:5173"}
    response = client.get("/api/workflows/executions/e1?page=1&size=20", headers=headers)
    assert response.get_data() == b'{"ok":1}'
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert REPLAYED_HEADER in response.headers["Access-Control-Expose-Headers"]
    assert "Content-Encoding" not in response.headers
    head = client.head("/api/workflows/executions/e1?page=1&size=20", headers=AUTH["kibana"])
    assert head.status_code == 200
    assert head.get_data() == b""
    assert REPLAYED_HEADER in head.headers


def test_recordings_come_from_the_environment_too() -> None:
    from mock_server._config import ConfigError, MockConfig

    config = MockConfig.from_env(
        {"STEPSPEC_REPLAY": os.pathsep.join(["a.har", "b.har"]), "STEPSPEC_REPLAY_ONLY": "yes"}
    )
    assert (config.replay, config.replay_only) == (("a.har", "b.har"), True)
    with pytest.raises(ConfigError, match="needs at least one recording"):
        MockConfig.from_env({"STEPSPEC_REPLAY_ONLY": "1"})


def test_a_reason_phrase_that_cannot_go_on_a_status_line_is_left_out(
    tmp_path: Path, app_factory: Callable[..., Flask]
) -> None:
    path = tmp_path / "odd.har"
    with HarWriter(path) as writer:
        writer.add(_answer(200, b'{"ok":1}', reason="Tout va bien \u2713"))
    client = app_factory(replay=[str(path)]).test_client()
    response = client.get("/api/workflows/executions/e1?page=1&size=20", headers=AUTH["kibana"])
    assert response.status == "200 OK"
    assert response.get_data() == b'{"ok":1}'
