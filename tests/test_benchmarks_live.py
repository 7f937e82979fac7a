"""The live-store benchmark group's pure parts: its Lua script and where each slice starts.

No server is started and no timing is asserted (``python -m benchmarks --only live`` measures).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import _live, _procs, _suite, _wrk


def test_the_resume_script_ships_and_posts_a_body() -> None:
    text = _wrk.lua_script("resume.lua").read_text()
    assert 'wrk.method = "POST"' in text
    assert "function response(" not in text  # wrk would hand every body to Lua


def test_resume_slices_continue_where_the_last_one_stopped(tmp_path: Path) -> None:
    server = _procs.Server("mock", "benchmarks.mock_app:app", _procs.ServerConfig())
    paths = tmp_path / "resume.txt"
    arm = _live.ResumeArm("resume", server, "/", cold=paths)
    options = arm.options()
    assert options["script"] == _wrk.lua_script("resume.lua")
    assert options["script_args"] == [str(paths), "0"]
    assert "kbn-xsrf: true" in options["headers"]  # type: ignore[operator]
    arm.slices.append(_wrk.WrkResult(800, 2.0, 400.0, 1.0, 5.0))
    assert arm.options()["script_args"] == [str(paths), "400"]  # two threads, half each


def test_live_is_a_benchmark_group() -> None:
    assert "live" in _suite.GROUPS
    assert _suite.groups_from("live") == ("live",)
