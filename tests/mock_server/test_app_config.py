"""``MockConfig``: from mappings and ``STEPSPEC_*`` variables, with errors that teach."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mock_server import ConfigError, MockConfig, create_app


def test_defaults_are_small_and_local() -> None:
    config = MockConfig()
    assert (config.host, config.port, config.seed) == ("127.0.0.1", 8080, 0)
    assert config.api_keys == ()
    assert config.cors is True


def test_from_env_parses_every_kind_of_value() -> None:
    config = MockConfig.from_env(
        {
            "STEPSPEC_SEED": "7",
            "STEPSPEC_API_KEYS": "a, b,,c",
            "STEPSPEC_LATENCY_MS": "20-80",
            "STEPSPEC_ERROR_RATE": "0.25",
            "STEPSPEC_VALIDATE_RESPONSES": "yes",
            "STEPSPEC_STATE_PATH": "",
            "UNRELATED": "x",
        }
    )
    assert config.seed == 7
    assert config.api_keys == ("a", "b", "c")
    assert config.latency_ms == (20, 80)
    assert config.error_rate == 0.25
    assert config.validate_responses is True
    assert config.state_path is None


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        ({"seed": "x"}, "seed: expected an integer, got 'x'"),
        ({"port": 70000}, "port: 70000 is outside 0..65535"),
        ({"latency_ms": "80-20"}, "latency_ms: range 80-20 ends before it starts"),
        ({"latency_ms": "fast"}, "latency_ms: expected MS or MS-MS"),
        ({"error_rate": 2}, "error_rate: 2.0 is not a share between 0 and 1"),
        ({"validate_responses": "perhaps"}, "validate_responses: expected true/false"),
        ({"workflows_per_api": 2000, "runs_per_workflow": 1000}, "at most 1000000"),
        ({"seeed": 1}, "unknown setting(s) ['seeed']; known: host, port, seed"),
        ({"auto_runs": -1}, "auto_runs: -1 is outside 0..60"),
        ({"run_ttl": 0}, "run_ttl: 0.0 must be > 0 seconds"),
        ({"max_live_runs": 0}, "max_live_runs: 0 is outside 1..10000000"),
    ],
)
def test_bad_values_name_the_setting_and_what_is_accepted(
    mapping: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        MockConfig.from_mapping(mapping)
    assert fragment in str(caught.value)


def test_live_run_settings_come_from_the_environment() -> None:
    config = MockConfig.from_env(
        {"STEPSPEC_AUTO_RUNS": "3", "STEPSPEC_RUN_TTL": "90", "STEPSPEC_MAX_LIVE_RUNS": "500"}
    )
    assert (config.auto_runs, config.run_ttl, config.max_live_runs) == (3, 90.0, 500)
    assert (MockConfig().auto_runs, MockConfig().run_ttl, MockConfig().max_live_runs) == (
        0,
        86_400.0,
        10_000,
    )


def test_create_app_reads_the_environment_when_given_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("STEPSPEC_SEED", "9")
    monkeypatch.setenv("STEPSPEC_STATE_PATH", f"{tmp_path}/state.sqlite3")
    app = create_app()
    assert app.config["STEPSPEC_CONFIG"].seed == 9


def test_an_options_answer_lists_allowed_methods_in_the_same_order_in_every_process() -> None:
    """Flask builds ``Allow`` from a set; string hashing differs per process, the bytes must not."""
    script = (
        "from mock_server import create_app\n"
        "app = create_app({'seed': 0, 'state_path': ':memory:'})\n"
        "print(app.test_client().options('/api/workflows').headers['Allow'])\n"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(answers) == 1
    methods = answers.pop().strip().split(", ")
    assert methods == sorted(methods)
    assert "GET" in methods
