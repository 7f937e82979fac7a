"""The benchmark harness's pure parts work: reading wrk, cold lists, /proc, tables, the baseline.

No server is started and no timing is asserted (timings belong in ``benchmarks/``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import __main__ as cli
from benchmarks import _discover, _http, _procs, _report, _suite, _validation, _wrk

WRK_REPORT = """\
Running 2s test @ http://127.0.0.1:18765/nonexistent
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    16.35ms   27.80ms 171.04ms   88.55%
    Req/Sec   341.25    330.01     1.46k    90.00%
  Latency Distribution
     50%  812.00us
     75%   15.49ms
     90%   48.13ms
     99%    1.42s
  1385 requests in 2.29s, 703.32KB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 11
Requests/sec:    604.84
Transfer/sec:    307.15KB
"""


def test_wrk_report_is_read_with_units_and_errors() -> None:
    result = _wrk.parse_wrk_output(WRK_REPORT)
    assert result.requests == 1385
    assert result.seconds == pytest.approx(2.29)
    assert result.requests_per_s == pytest.approx(604.84)
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(1420.0)
    assert (result.non_2xx, result.socket_errors, result.errors) == (11, 5, 16)


def test_a_report_without_latency_distribution_is_refused() -> None:
    truncated = WRK_REPORT.split("  Latency Distribution")[0] + "Requests/sec: 1.0\n"
    with pytest.raises(_wrk.WrkFailed, match="--latency"):
        _wrk.parse_wrk_output(truncated)


def test_wrk_command_passes_script_arguments_after_a_double_dash() -> None:
    command = _wrk.wrk_command(
        "http://127.0.0.1:1/",
        10,
        headers=["Authorization: ApiKey bench"],
        script=_wrk.lua_script("cold.lua"),
        script_args=["/tmp/paths.txt"],
    )
    assert command[:6] == ["wrk", "-t2", "-c32", "-d10s", "--timeout=10s", "--latency"]
    assert command[command.index("-H") + 1] == "Authorization: ApiKey bench"
    assert command[-3:] == ["http://127.0.0.1:1/", "--", "/tmp/paths.txt"]


def test_the_cold_script_ships_with_the_package() -> None:
    text = _wrk.lua_script("cold.lua").read_text()
    assert "function request()" in text
    assert "function response(" not in text


def test_missing_wrk_is_one_line_and_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert cli.main(["--only", "http"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "apt-get install wrk" in err


def test_unknown_group_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--only", "http,speed"]) == 2
    assert "speed" in capsys.readouterr().err
    assert _suite.groups_from("memory, http") == ("memory", "http")
    assert _suite.groups_from(None) == _suite.GROUPS


def test_cold_list_interleaves_parents_and_never_repeats(tmp_path: Path) -> None:
    groups = [[f"/w{w}/r{r}" for r in range(5)] for w in range(3)]
    cold = _discover.spread(groups, 7)
    assert cold[:3] == ["/w0/r0", "/w1/r0", "/w2/r0"]
    assert len(cold) == len(set(cold)) == 7
    assert _discover.spread([["/a"], [], ["/b", "/c"]], 10) == ["/a", "/b", "/c"]
    file = _http.write_paths(cold, tmp_path / "cold.txt")
    assert file.read_text().splitlines() == cold


def test_proc_status_gives_rss_and_peak() -> None:
    text = "Name:\tgunicorn\nVmPeak:\t  300000 kB\nVmHWM:\t   91234 kB\nVmRSS:\t   80000 kB\n"
    assert _procs.parse_status(text) == (80000, 91234)
    assert _procs.parse_status("Name:\tzombie\n") == (0, 0)
    assert _procs.read_status(2**22 + 12345) == (0, 0)  # no such process


def test_server_command_lines_follow_the_config() -> None:
    sync = _procs.ServerConfig("gunicorn", "sync", 2, 1, ("--preload",))
    command = sync.command("benchmarks.constant_app:app", 8123)
    assert command[command.index("--worker-class") + 1] == "sync"
    assert "--preload" in command
    assert command[-1] == "benchmarks.constant_app:app"
    granian = _procs.ServerConfig("granian", "", 2, 1).command("m:app", 8123)
    assert granian[granian.index("--interface") + 1] == "wsgi"
    assert sync.label == "gunicorn sync x2"
    assert _procs.ServerConfig("gunicorn", "gthread", 2, 4).label == "gunicorn gthread x2x4"


def test_constant_app_answers_the_registered_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = tmp_path / "step.json"
    body.write_bytes(b'{"id": "step-1"}')
    monkeypatch.setenv("STEPSPEC_BENCH_BODIES", f"/api/step={body}")
    from benchmarks import constant_app

    app = importlib.reload(constant_app).app
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    assert app({"PATH_INFO": "/api/step"}, start_response) == [b'{"id": "step-1"}']
    assert seen["status"] == "200 OK"
    assert seen["headers"]["Content-Length"] == "16"
    assert app({"PATH_INFO": "/elsewhere"}, start_response) == [b'{"id": "step-1"}']


def test_table_and_json_carry_the_same_rows(tmp_path: Path) -> None:
    rows = [
        _report.Row("baseline: kibana", rate=2000.0, p50_ms=10.0, p99_ms=30.0),
        _report.Row(
            "warm: kibana",
            rate=1800.0,
            p50_ms=11.0,
            p99_ms=25.0,
            peak_rss_mib=90.5,
            ratio=0.9,
            target="ratio >= 0.8",
            met=True,
        ),
        _report.Row("cold: kibana", rate=500.0, ratio=0.25, target="ratio >= 0.5", met=False),
    ]
    text = _report.table(rows)
    assert text.splitlines()[0].split()[:2] == ["measure", "rate"]
    assert "1,800 req/s" in text
    assert "NO" in text.splitlines()[-1]
    markdown = _report.table(rows, markdown=True)
    assert markdown.count("\n") == len(rows) + 1
    path = _report.write_json(rows, {"command": "python -m benchmarks"}, tmp_path)
    document = json.loads(path.read_text())
    assert [row["measure"] for row in document["rows"]] == [row.measure for row in rows]
    assert document["rows"][2]["met"] is False
    again, info = _report.read_json(path)
    assert again == rows
    assert info == {"command": "python -m benchmarks"}


def test_show_prints_an_earlier_run_as_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = _report.Row("cold: arcee", rate=900.0, ratio=0.3, target="ratio >= 0.5", met=False)
    path = _report.write_json(
        [row], {"command": "python -m benchmarks", "problems": ["x"]}, tmp_path
    )
    assert cli.main(["--show", str(path), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| cold: arcee | 900 req/s |" in out
    assert "- x" in out


def test_execution_pages_hold_ten_thousand_distinct_list_items() -> None:
    steps = [{"id": "a", "status": "completed", "input": {}, "output": 1}, {"id": "b"}]
    pages = _validation.execution_pages(steps)
    bodies = [json.loads(page) for page in pages]
    assert [body["page"] for body in bodies] == [1, 2]
    items = [item for body in bodies for item in body["results"]]
    assert len({item["id"] for item in items}) == 10_000
    assert not any("input" in item or "output" in item for item in items)


def test_mutated_objects_each_miss_a_required_property() -> None:
    fixtures = _validation.fixture_steps("kibana")
    broken = _validation.mutated(fixtures, _validation.STEP_SCHEMAS["kibana"])
    assert len(broken) == len(fixtures)
    assert all(len(b) == len(f) - 1 for b, f in zip(broken, fixtures, strict=True))


def test_interleaved_slices_add_up_and_take_the_median_slice() -> None:
    server = _procs.Server("mock", "benchmarks.mock_app:app", _procs.ServerConfig())
    arm = _http.Arm("warm", server, "/step")
    arm.slices = [
        _wrk.WrkResult(1000, 2.0, 500.0, 1.0, 10.0),
        _wrk.WrkResult(3000, 2.0, 1500.0, 2.0, 90.0, non_2xx=1),
        _wrk.WrkResult(1800, 2.0, 900.0, 3.0, 20.0),
    ]
    total = arm.total()
    assert total.requests == 5800
    assert total.requests_per_s == pytest.approx(900.0)
    assert (total.p50_ms, total.p99_ms, total.errors) == (2.0, 20.0, 1)


def test_cold_runs_continue_where_the_last_one_stopped(tmp_path: Path) -> None:
    server = _procs.Server("mock", "benchmarks.mock_app:app", _procs.ServerConfig())
    paths = _http.write_paths(["/a", "/b"], tmp_path / "cold.txt")
    arm = _http.Arm("cold", server, "/", cold=paths)
    assert arm.options()["script_args"] == [str(paths), "0"]
    _http.advance_cold(paths, 3000)
    assert arm.options()["script_args"] == [str(paths), "1500"]


def test_another_tree_adds_tagged_warm_and_cold_rows_to_a_block(tmp_path: Path) -> None:
    def server(name: str) -> _procs.Server:
        return _procs.Server(name, "benchmarks.mock_app:app", _procs.ServerConfig())

    bench = _http.HttpBench(server("mock"), server("baseline"), 2.0, 0.0)
    bench.other, bench.other_tag = server("old"), " [before]"
    targets = _discover.Targets("kibana", warm="/step", warm_bytes=1000, cold=["/a", "/b"])
    auth = _discover.KIBANA
    arms = bench.api_arms(targets, auth, _http.write_paths(targets.cold, tmp_path / "c.txt"))
    assert [(arm.name, arm.server.name, arm.tag) for arm in arms] == [
        ("baseline", "baseline", ""),
        ("warm", "mock", ""),
        ("cold", "mock", ""),
        ("warm", "old", " [before]"),
        ("cold", "old", " [before]"),
    ]
    for arm, rate in zip(arms, (1000.0, 900.0, 600.0, 700.0, 300.0), strict=True):
        arm.slices = [_wrk.WrkResult(int(rate * 2), 2.0, rate, 1.0, 5.0)]
    rows = bench.api_rows(targets, arms)
    assert [(row.measure, row.ratio, row.met) for row in rows] == [
        ("baseline: kibana (1,000 B)", None, None),
        ("warm: kibana", pytest.approx(0.9), True),
        ("cold: kibana", pytest.approx(0.6), True),
        ("warm: kibana [before]", pytest.approx(0.7), False),
        ("cold: kibana [before]", pytest.approx(0.3), False),
    ]


def test_a_compare_tree_without_the_mock_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--only", "http", "--compare-tree", str(tmp_path)]) == 2
    assert "no mock_server" in capsys.readouterr().err


def test_the_server_comparison_leaves_granian_out_when_it_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = _procs.ServerConfig("gunicorn", "gthread", 2, 4, ("--preload",))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        "importlib.util.find_spec", lambda name, *a: None if name == "granian" else real(name)
    )
    labels = [config.label for config in _suite.alternatives(default)]
    assert labels == ["gunicorn sync x2", "gunicorn gthread x2x8"]
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())
    assert [c.label for c in _suite.alternatives(default)][-2:] == ["granian x2", "granian x2x4"]


def test_proxy_benchmark_runs_the_proxy_command_in_front_of_the_target() -> None:
    from benchmarks import _proxy

    command = _proxy.ProxyCommand(target="http://127.0.0.1:9").command("", 1234)
    assert command[-7:] == [
        "proxy", "--api", "kibana", "--target", "http://127.0.0.1:9", "--port", "1234",
    ]  # fmt: skip
    assert _proxy.ProxyCommand().workers == 1
    assert _proxy._quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert "proxy" in _suite.GROUPS
