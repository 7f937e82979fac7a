"""The DNS-rebinding guard: which ``Host`` names a loopback-bound mock answers, and how it refuses
the others (403 in the vendor's envelope, or the neutral one off the APIs' paths)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from mock_server._hosts import MAX_DECIDED, HostGuard, guarded, host_name, is_loopback


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8080", "localhost"),
        ("LocalHost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:8080", "::1"),
        ("example.com.", "example.com"),
        ("::1", "::1"),
    ],
)
def test_host_names_drop_port_brackets_and_case(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(
    ("name", "loopback"),
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("attacker.example", False),
        ("localhost.attacker.example", False),
        ("0.0.0.0", False),
    ],
)
def test_loopback_names(name: str, loopback: bool) -> None:
    assert is_loopback(name) is loopback


def test_only_servers_bound_to_loopback_are_guarded() -> None:
    assert [guarded(h) for h in ("127.0.0.1", "localhost", "::1")] == [True, True, True]
    assert [guarded(h) for h in ("0.0.0.0", "192.168.1.20")] == [False, False]


PATHS = {
    "kibana": ("/api/workflows", "Authorization", "ApiKey k"),
    "arcee": ("/api/v1/workflow/workflows", "Authorization", "Bearer k"),
    "trigify": ("/v1/workflows", "x-api-key", "k"),
}


@pytest.mark.parametrize("api", sorted(PATHS))
def test_mock_refuses_a_foreign_host_in_the_vendor_envelope(
    api: str, app_factory: Callable[..., Flask]
) -> None:
    path, header, value = PATHS[api]
    client = app_factory().test_client()
    refused = client.get(path, headers={"Host": "attacker.example", header: value})
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "attacker.example" in text
    expected_key = {"kibana": "statusCode", "arcee": "detail", "trigify": "success"}[api]
    assert expected_key in refused.get_json()
    assert client.get(path, headers={"Host": "127.0.0.1:8080", header: value}).status_code == 200


def test_viewer_and_unknown_paths_are_guarded_too(app_factory: Callable[..., Flask]) -> None:
    client = app_factory().test_client()
    for path in ("/_stepspec/", "/nowhere"):
        refused = client.get(path, headers={"Host": "attacker.example"})
        assert refused.status_code == 403
        assert refused.get_json()["statusCode"] == 403
        assert "apis" in refused.get_json()


def test_a_mock_bound_elsewhere_or_allowing_the_name_answers(
    app_factory: Callable[..., Flask],
) -> None:
    hostile: dict[str, Any] = {"Host": "dev.example.test", "Authorization": "ApiKey k"}
    exposed = app_factory(host="0.0.0.0").test_client()
    assert exposed.get("/api/workflows", headers=hostile).status_code == 200
    allowed = app_factory(allowed_hosts="dev.example.test,other.test").test_client()
    assert allowed.get("/api/workflows", headers=hostile).status_code == 200


def test_stepspec_mock_takes_allowed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server import _cli, _serve

    served: list[Any] = []
    monkeypatch.setattr(_serve, "serve", served.append)
    result = CliRunner().invoke(
        _cli.mock_command, ["--allowed-host", "a.test", "--allowed-host", "b.test"]
    )
    assert result.exit_code == 0, result.output
    assert served[0].allowed_hosts == ("a.test", "b.test")


def test_the_guard_decides_each_host_value_alike_past_its_memory() -> None:
    guard = HostGuard(Flask("guarded"), ["ci.example"], lambda path, message: Flask("refused"))
    values = [f"evil{i}.test" for i in range(MAX_DECIDED + 5)] + ["127.0.0.1:1", "ci.example:80"]
    first = [guard.permits(value) for value in values]
    assert first == [guard.permits(value) for value in values]
    assert first[-2:] == [True, True]
    assert not any(first[:-2])
