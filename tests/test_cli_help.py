"""``--help`` says what a newcomer needs (walkthrough row 54): required options, the environment
variables and per-request controls of ``stepspec mock``, the exit codes."""

from __future__ import annotations

import re

import click
from click.testing import CliRunner

from conformance.cli import stepspec
from mock_server._config import ENV_PREFIX, MockConfig
from mock_server.live._scenarios import HEADER, scenarios


def _help(*command: str) -> str:
    result = CliRunner().invoke(stepspec, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_check_help_marks_api_and_base_url_required() -> None:
    text = _help("check")
    assert re.search(r"--api \S+\s+API to check \(required\)", text)
    assert re.search(r"--base-url URL\s+Server origin;.*\(required\)", text)


def test_mock_help_names_a_working_variable_for_every_option() -> None:
    text = _help("mock")
    named = set(re.findall(r"\[env:\s+(STEPSPEC_[A-Z_]+)\]", text))
    from mock_server._cli import mock_command

    options = [p for p in mock_command.params if isinstance(p, click.Option) and p.help]
    assert len(named) == len(options)
    for variable in named:  # each is one MockConfig reads
        assert variable.removeprefix(ENV_PREFIX).lower() in MockConfig.field_names()
    assert MockConfig.from_env({"STEPSPEC_LATENCY_MS": "5"}).latency_ms == (5, 5)


def test_mock_help_shows_the_per_request_controls_and_exit_codes() -> None:
    text = " ".join(_help("mock").split())
    assert "Prefer: code=404" in text
    assert "Prefer: example=NAME" in text
    assert f"{HEADER}: NAME" in text
    for name in scenarios():
        assert name in text
    assert "Exit codes: 0 stopped (Ctrl-C), 2 usage error" in text


def test_validate_help_states_exit_codes_and_json_only() -> None:
    text = " ".join(_help("validate").split())
    assert "Exit codes: 0 valid, 1 invalid (or not JSON), 2 usage error." in text
    assert "Only JSON is read, not YAML." in text
