"""HAR recordings: the writer's output is HAR 1.2, bodies survive byte for byte, secrets do not.

The HAR 1.2 schema is the npm package ``har-schema`` 2.0.0, copied into ``tests/data/har-schema``
(see its README).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT6

from conformance.har import (
    REDACTED,
    HarEntry,
    HarWriter,
    NotHar,
    Redactor,
    entry_from_har,
    entry_to_har,
    read_har,
)

SCHEMA_DIR = Path(__file__).parent.parent / "data" / "har-schema"
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c"


def _har_validator() -> Draft6Validator:
    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append(
            (path.name, Resource.from_contents(document, default_specification=DRAFT6))
        )
    registry: Registry[Any] = Registry().with_resources(resources)
    root = json.loads((SCHEMA_DIR / "har.json").read_text(encoding="utf-8"))
    return Draft6Validator(root, registry=registry, format_checker=FormatChecker())


def _entry(**changes: Any) -> HarEntry:
    base: dict[str, Any] = {
        "method": "GET",
        "url": "http://127.0.0.1:8080/api/workflows?size=2",
        "request_headers": (("Accept", "application/json"),),
        "status": 200,
        "reason": "OK",
        "response_headers": (("Content-Type", "application/json"),),
        "response_body": b'{"results": [], "total": 0}',
        "started": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "time_ms": 12.5,
    }
    base.update(changes)
    return HarEntry(**base)


def _write(tmp_path: Path, entries: list[HarEntry], **options: Any) -> Path:
    target = tmp_path / "session.har"
    with HarWriter(target, **options) as writer:
        for entry in entries:
            writer.add(entry)
    return target


def test_written_file_validates_against_the_har_1_2_schema(tmp_path: Path) -> None:
    entries = [
        _entry(),
        _entry(
            method="POST",
            url="http://127.0.0.1:8080/api/workflows/workflow/w1/run",
            request_headers=(("Content-Type", "application/json"), ("kbn-xsrf", "true")),
            request_body=b'{"inputs": {}}',
            status=404,
            reason="NOT FOUND",
        ),
        _entry(status=0, reason="", response_headers=(), response_body=b"", error="timeout: 10 s"),
    ]
    document = json.loads(_write(tmp_path, entries).read_text(encoding="utf-8"))
    errors = sorted(_har_validator().iter_errors(document), key=str)
    assert not errors, [error.message for error in errors]
    assert document["log"]["version"] == "1.2"
    assert len(document["log"]["entries"]) == 3


def test_the_schema_rejects_a_broken_har(tmp_path: Path) -> None:
    document = json.loads(_write(tmp_path, [_entry()]).read_text(encoding="utf-8"))
    del document["log"]["entries"][0]["response"]["status"]
    assert list(_har_validator().iter_errors(document))


def test_bodies_round_trip_byte_for_byte(tmp_path: Path) -> None:
    binary = bytes(range(256))
    text = '{"name": "caf\u00e9 \u2603", "n": 1.50}'.encode()
    entries = [_entry(response_body=binary), _entry(response_body=text, request_body=binary)]
    read = read_har(_write(tmp_path, entries))
    assert [entry.response_body for entry in read] == [binary, text]
    assert read[1].request_body == binary
    assert read[0].started == entries[0].started
    assert read[0].status == 200
    assert read[0].header("content-type") == "application/json"
    assert read[0].query == (("size", "2"),)


def test_an_entry_round_trips_through_its_har_form() -> None:
    entry = _entry(
        error="truncated: the body stopped at 10 bytes",
        comment="hop 1",
        timings={"send": 1.0, "wait": 10.0, "receive": 1.5},
    )
    assert entry_from_har(entry_to_har(entry)) == entry


def test_a_secret_never_reaches_the_file(tmp_path: Path) -> None:
    entries = [
        _entry(
            url=f"http://127.0.0.1:8080/api/workflows?api_key={SECRET}&token={SECRET}x&size=2",
            request_headers=(
                ("Authorization", f"ApiKey {SECRET}"),
                ("x-api-key", SECRET),
                ("Cookie", f"sid={SECRET}; theme=dark"),
                ("kbn-secondary-authorization", f"Bearer {SECRET}"),
                ("kbn-xsrf", "true"),
            ),
            response_headers=(
                ("Content-Type", "application/json"),
                ("Set-Cookie", f"sid={SECRET}; HttpOnly"),
            ),
            # A server that echoes the key back in its body and in a header.
            response_body=json.dumps({"message": f"key {SECRET} is not valid"}).encode(),
        ),
        _entry(response_headers=(("X-Echo", SECRET),)),
    ]
    raw = _write(tmp_path, entries).read_bytes()
    assert SECRET.encode() not in raw
    read = read_har(tmp_path / "session.har")
    assert read[0].request_header("authorization") == REDACTED
    assert read[0].request_header("cookie") == REDACTED
    assert read[0].request_header("kbn-secondary-authorization") == REDACTED
    assert read[0].request_header("kbn-xsrf") == "true"  # not a credential: kept
    assert read[0].header("set-cookie") == REDACTED
    assert dict(read[0].query) == {"api_key": REDACTED, "token": REDACTED, "size": "2"}
    assert read[1].header("x-echo") == REDACTED


def test_redact_fields_masks_json_fields_at_any_depth(tmp_path: Path) -> None:
    body = {"email": "a@example.com", "user": {"Email": "b@example.com", "name": "B"}}
    body["items"] = [{"email": "c@example.com", "id": 1}]  # type: ignore[assignment]
    target = _write(
        tmp_path,
        [_entry(response_body=json.dumps(body).encode())],
        redactor=Redactor(fields={"email"}),
    )
    raw = target.read_text(encoding="utf-8")
    assert "example.com" not in raw
    masked = json.loads(read_har(target)[0].response_body)
    assert masked == {
        "email": REDACTED,
        "user": {"Email": REDACTED, "name": "B"},
        "items": [{"email": REDACTED, "id": 1}],
    }


def test_a_body_without_named_fields_is_kept_as_it_was(tmp_path: Path) -> None:
    body = b'{"b": 1,   "a": 2}'
    target = _write(tmp_path, [_entry(response_body=body)], redactor=Redactor(fields={"email"}))
    assert read_har(target)[0].response_body == body


def test_the_recording_stays_within_its_bound(tmp_path: Path) -> None:
    big = _entry(response_body=b'{"pad": "' + b"x" * 4000 + b'"}')
    target = tmp_path / "bounded.har"
    writer = HarWriter(target, max_bytes=20_000)
    kept = [writer.add(big) for _ in range(10)]
    writer.close()
    assert kept.count(True) == 4
    assert writer.dropped == 6
    assert target.stat().st_size <= 20_000
    document = json.loads(target.read_text(encoding="utf-8"))
    assert len(document["log"]["entries"]) == 4
    assert "6 exchange(s) left out" in document["log"]["comment"]


def test_flush_replaces_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "live.har"
    writer = HarWriter(target)
    writer.add(_entry())
    writer.flush()
    assert len(read_har(target)) == 1
    writer.add(_entry())
    writer.flush()
    assert len(read_har(target)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["live.har"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not a HAR file: it is not JSON"),
        ('{"openapi": "3.1.0"}', "is not a HAR file: it has no log.entries list"),
        ('{"log": {"entries": [{"request": {}}]}}', "log.entries[0] has no request or response"),
        (
            '{"log": {"entries": [{"request": {"method": "GET", "url": "/"}, '
            '"response": {"status": "200"}}]}}',
            "log.entries[0].response.status is not an integer",
        ),
    ],
)
def test_a_file_that_is_not_har_is_one_line_usage_error(
    tmp_path: Path, content: str, message: str
) -> None:
    target = tmp_path / "x.har"
    target.write_text(content, encoding="utf-8")
    with pytest.raises(NotHar, match=message.replace("[", r"\[").replace("]", r"\]")) as caught:
        read_har(target)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_not_har(tmp_path: Path) -> None:
    with pytest.raises(NotHar, match="no such file"):
        read_har(tmp_path / "missing.har")


def test_replay_key_matches_a_live_request_to_its_redacted_recording(tmp_path: Path) -> None:
    live = _entry(url=f"http://h/api/workflows?size=2&api_key={SECRET}&page=1")
    recorded = read_har(_write(tmp_path, [live]))[0]
    assert SECRET not in recorded.url
    assert recorded.replay_key == live.replay_key
    assert live.replay_key == (
        "GET",
        "/api/workflows",
        (("api_key", REDACTED), ("page", "1"), ("size", "2")),
    )
    assert _entry(url="http://h/api/workflows?size=3").replay_key != live.replay_key
