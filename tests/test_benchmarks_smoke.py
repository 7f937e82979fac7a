"""The benchmark harness's pure parts work: reading wrk, cold lists, /proc, tables, the baseline.

No server is started and no timing is asserted (timings belong in ``benchmarks/``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import __main__ as cli
from benchmarks import _discover, _http, _nginx, _procs, _report, _suite, _validation, _wrk

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
    assert [(row.measure, row.ratio, row.nginx_ratio, row.met) for row in rows] == [
        ("baseline: kibana (1,000 B)", None, None, None),
        ("warm: kibana", pytest.approx(0.9), None, None),
        ("cold: kibana", pytest.approx(0.6), None, None),
        ("warm: kibana [before]", pytest.approx(0.7), None, None),
        ("cold: kibana [before]", pytest.approx(0.3), None, None),
    ]
    # Without an nginx arm the issue-15 targets (multiples of nginx) cannot be judged.
    assert all("not judged" in row.note for row in rows[1:])
    assert rows[1].target == "x nginx >= 0.3, p99 <= 10 ms"


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


def test_every_api_block_measures_the_mock_under_granian_as_the_cli_serves_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mock_server._granian import BLOCKING_THREADS

    default = _procs.ServerConfig("gunicorn", "gthread", 3, 4, ("--preload",))
    granian = _suite.granian_config(default)
    assert granian == _procs.ServerConfig("granian", "", 3, BLOCKING_THREADS)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        "importlib.util.find_spec", lambda name, *a: None if name == "granian" else real(name)
    )
    assert _suite.granian_config(default) is None


def test_proxy_benchmark_runs_the_proxy_command_in_front_of_the_target() -> None:
    from benchmarks import _proxy

    command = _proxy.ProxyCommand(target="http://127.0.0.1:9").command("", 1234)
    assert command[-7:] == [
        "proxy", "--api", "kibana", "--target", "http://127.0.0.1:9", "--port", "1234",
    ]  # fmt: skip
    assert _proxy.ProxyCommand().workers == 1
    assert _proxy._quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert "proxy" in _suite.GROUPS


def test_nginx_config_answers_each_path_with_its_file(tmp_path: Path) -> None:
    step, page = tmp_path / "step.json", tmp_path / "page.json"
    bodies = {
        "/api/workflows/executions/run%201/step/s%22x": step,
        "/api/workflows/executions/r/steps?size=5000&page=1": page,
        "/api/workflows/executions/r/steps?size=1": step,  # same path: the first body wins
    }
    conf = _nginx.nginx_conf(8123, bodies)
    assert "listen 127.0.0.1:8123;" in conf
    assert "worker_processes 2;" in conf
    assert "default_type application/json;" in conf
    assert "types { }" in conf
    assert "keepalive_requests 1000000;" in conf
    # nginx matches the decoded path without its query string, as PATH_INFO is
    assert 'location = "/api/workflows/executions/run 1/step/s\\"x" {' in conf
    assert conf.count('location = "/api/workflows/executions/r/steps"') == 1
    assert f'alias "{page.resolve()}";' in conf
    assert conf.count("alias ") == 2
    assert "return 404;" in conf


def test_nginx_runs_in_the_foreground_under_its_own_prefix(tmp_path: Path) -> None:
    body = tmp_path / "b.json"
    server = _nginx.nginx_server("/usr/sbin/nginx", {"/a": body}, tmp_path)
    assert isinstance(server.config, _nginx.NginxConfig)
    assert server.config.label == "nginx x2"
    assert server.config.workers == 2
    command = server.config.command("", 8124)
    prefix = server.config.prefix
    assert command[:3] == ["/usr/sbin/nginx", "-p", f"{prefix}/"]
    assert command[-2:] == ["-g", "daemon off;"]
    conf = Path(command[command.index("-c") + 1])
    assert conf.parent == prefix
    assert "listen 127.0.0.1:8124;" in conf.read_text()
    assert (prefix / "logs").is_dir()
    assert server.ready_path == "/a"


def _arms_with_rates(arms: list[_http.Arm], rates: dict[str, tuple[float, float]]) -> None:
    """Give each arm one slice: ``rates[name] = (req/s, p99 ms)``."""
    for arm in arms:
        rate, p99 = rates[arm.name]
        arm.slices = [_wrk.WrkResult(int(rate * 2), 2.0, rate, 1.0, p99)]


def test_every_row_gets_its_ratio_to_nginx_and_the_issue_15_targets(tmp_path: Path) -> None:
    def server(name: str) -> _procs.Server:
        return _procs.Server(name, "benchmarks.mock_app:app", _procs.ServerConfig())

    bench = _http.HttpBench(server("mock"), server("baseline"), 2.0, 0.0)
    bench.nginx = server("nginx")
    targets = _discover.Targets(
        "kibana", warm="/step", warm_bytes=1000, cold=["/a"], extra_warm={"running": "/r"}
    )
    arms = bench.api_arms(targets, _discover.KIBANA, tmp_path / "cold.txt")
    assert [(arm.name, arm.server.name, arm.path) for arm in arms] == [
        ("baseline", "baseline", "/step"),
        ("nginx", "nginx", "/step"),
        ("warm", "mock", "/step"),
        ("running", "mock", "/r"),
        ("cold", "mock", "/"),
    ]
    _arms_with_rates(
        arms,
        {
            "baseline": (5000.0, 4.0),
            "nginx": (20000.0, 2.0),
            "warm": (6000.0, 10.0),  # 0.3x nginx, p99 10 ms: both bounds included
            "running": (1000.0, 30.0),
            "cold": (1800.0, 40.0),  # 0.09x nginx
        },
    )
    rows = bench.api_rows(targets, arms)
    assert [(row.measure, row.ratio, row.nginx_ratio, row.met) for row in rows] == [
        ("baseline: kibana (1,000 B)", None, pytest.approx(0.25), None),
        ("nginx: kibana, same bytes", pytest.approx(4.0), pytest.approx(1.0), None),
        ("warm: kibana", pytest.approx(1.2), pytest.approx(0.3), True),
        ("warm: kibana, running", pytest.approx(0.2), pytest.approx(0.05), None),
        ("cold: kibana", pytest.approx(0.36), pytest.approx(0.09), False),
    ]
    assert rows[4].target == "x nginx >= 0.1, p99 <= 50 ms"
    assert "x nginx" in _report.table(rows)
    assert "| 0.30 |" in _report.table(rows, markdown=True)


@pytest.mark.parametrize(
    ("kind", "x_nginx", "p99_ms", "errors", "met"),
    [
        ("warm", 0.5, 10.1, 0, False),  # fast enough, tail too long
        ("warm", 0.29, 2.0, 0, False),
        ("warm", 0.31, 9.0, 30, False),  # 30 of 2,000 requests failed: over 1 %
        ("warm", 0.31, 9.0, 20, True),
        ("cold", 0.1, 50.0, 0, True),
        ("cold", 0.5, 51.0, 0, False),
        ("cold", 0.099, 5.0, 0, False),
    ],
)
def test_targets_need_the_nginx_ratio_the_tail_and_answers(
    kind: str, x_nginx: float, p99_ms: float, errors: int, met: bool
) -> None:
    row = _report.Row(f"{kind}: kibana", nginx_ratio=x_nginx)
    _http.judge(row, kind, _wrk.WrkResult(2000, 2.0, 1000.0, 1.0, p99_ms, non_2xx=errors))
    assert row.met is met


def test_server_block_rows_take_nginx_from_the_block_and_missing_nginx_is_said_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = _procs.Server("nginx", "", _procs.ServerConfig())
    arms = [_http.Arm("warm", server, "/"), _http.Arm("nginx", server, "/")]
    assert _suite.nginx_throughput(arms) is None  # not measured yet
    arms[1].slices = [_wrk.WrkResult(80000, 2.0, 40000.0, 0.5, 2.0)]
    assert _suite.nginx_throughput(arms) == 40000.0
    monkeypatch.setattr(_nginx, "find_nginx", lambda: None)
    monkeypatch.setattr(_suite, "find_nginx", lambda: None)
    problems: list[str] = []
    with contextlib.ExitStack() as stack:
        for _ in range(2):
            assert _suite.start_ceiling(stack, {"/a": tmp_path / "a"}, tmp_path, problems) is None
    assert len(problems) == 1
    assert "apt-get install nginx" in problems[0]


def test_big_payloads_are_interleaved_with_nginx_and_get_its_ratio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def server(name: str) -> _procs.Server:
        return _procs.Server(name, "benchmarks.mock_app:app", _procs.ServerConfig(), port=1)

    rates = {"baseline": 100.0, "nginx": 400.0, "mock": 20.0}
    order: list[str] = []

    def fake_wrk(url: str, seconds: float, **options: Any) -> _wrk.WrkResult:
        name = next(n for n, s in servers.items() if url.startswith(s.base_url + "/"))
        order.append(name)
        return _wrk.WrkResult(int(rates[name] * seconds), seconds, rates[name], 1.0, 5.0)

    servers = {name: server(name) for name in rates}
    servers["nginx"].port, servers["baseline"].port = 2, 3
    monkeypatch.setattr(_http, "run_wrk", fake_wrk)
    bench = _http.HttpBench(servers["mock"], servers["baseline"], 4.0, 0.0)
    bench.nginx = servers["nginx"]
    rows = bench.measure_big("big: x", "/big", _discover.KIBANA, 0.25)
    assert order == ["baseline", "nginx", "mock"] * 2  # 4 s as two interleaved 2-s turns
    assert [(row.measure, row.ratio, row.nginx_ratio) for row in rows] == [
        ("baseline: same bytes as big: x", None, pytest.approx(0.25)),
        ("nginx: same bytes as big: x", pytest.approx(4.0), pytest.approx(1.0)),
        ("big: x", pytest.approx(0.2), pytest.approx(0.05)),
    ]
    assert "first (uncached) request 250 ms" in rows[2].note


def test_nginx_serves_the_mocks_bytes(tmp_path: Path) -> None:
    import os
    import urllib.error
    import urllib.request

    executable = _nginx.find_nginx()
    if executable is None:
        message = "nginx is not installed (apt-get install nginx)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run installs it, so CI must have it", pytrace=False)
        pytest.skip(message)
    body = tmp_path / "step.json"
    body.write_bytes(b'{"id":"step 1","status":"completed"}')
    path = "/api/workflows/executions/run%201/step/s1"
    with _nginx.nginx_server(executable, {path + "?x=1": body}, tmp_path) as server:
        assert len(server.worker_pids()) == 2
        with urllib.request.urlopen(server.base_url + path + "?other=2") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json"
            assert response.read() == body.read_bytes()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.base_url + "/api/other")
        assert missing.value.code == 404
        missing.value.close()
        _nginx.verify(server, {path: body})
        other = tmp_path / "other.json"
        other.write_bytes(b"{}")
        with pytest.raises(_procs.ServerFailed, match="not the 2 bytes"):
            _nginx.verify(server, {path: other})
    assert server.process is None


def _runs(cpu_s: list[float], responses: list[int]) -> dict[str, list[Any]]:
    return {
        "cpu_s": cpu_s,
        "wall_s": [2 * c for c in cpu_s],
        "responses": responses,
        "exit": [0] * len(cpu_s),
    }


def test_kit_rows_divide_cpu_by_responses_and_judge_one_millisecond() -> None:
    from benchmarks import _kit

    figures = {
        "record": _runs([0.3], [74]),
        "live": _runs([0.09, 0.07, 0.08], [80, 80, 80]),  # median 1,000 µs/response: met
        "offline": _runs([0.05, 0.04, 0.045], [50, 50, 50]),  # 900 µs/response
        "offline_repeated": _runs([0.35, 0.36, 0.34], [500, 500, 500]),  # +0.3 s for +450
    }
    offline, live = _kit.rows("arcee", figures, fresh_us=5000.0, body_kib=100.0)
    assert "50 responses per run (2.0 KiB of body each on average)" in offline.note
    assert offline.rate == pytest.approx(900.0)
    assert offline.unit == "µs/resp"
    assert offline.met is True
    assert offline.target == "<= 1,000 µs/resp"
    assert offline.details["marginal_us"] == pytest.approx(1e6 * 0.305 / 450)
    assert "678 µs per additional response" in offline.note
    assert "5,000 µs/response as a fresh process" in offline.note
    assert live.rate == pytest.approx(1000.0)
    assert live.met is True
    figures["offline"] = _runs([0.06], [50])
    assert _kit.rows("arcee", figures)[0].met is False  # 1,200 µs
    assert _kit.per_response_us([0.01], [0]) == pytest.approx(1e4)  # no division by zero
    assert "kit" in _suite.GROUPS


def test_the_kit_child_repeats_a_recordings_entries(tmp_path: Path) -> None:
    from benchmarks import _kit_child

    har = tmp_path / "a.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [{"n": 1}, {"n": 2}]}}))
    big = _kit_child.repeated(har, 3, tmp_path / "b.har")
    assert json.loads(big.read_text())["log"]["entries"] == [{"n": 1}, {"n": 2}] * 3


def test_the_kit_counts_the_recorded_body_bytes(tmp_path: Path) -> None:
    from benchmarks import _kit

    entries = [{"response": {"content": {"text": "x" * n}}} for n in (100, 24)]
    entries.append({"response": {"content": {"size": 0}}})  # no body recorded
    har = tmp_path / "a.har"
    har.write_text(json.dumps({"log": {"entries": entries}}))
    assert _kit.body_bytes(har) == 124


def test_the_default_servers_worker_class_is_passed_by_its_dotted_path() -> None:
    config = _http.default_server_config()
    assert config.worker_class in ("gthread", "sync") or "." in config.worker_class
    assert _http.worker_class_name(_procs.ServerConfig) == "benchmarks._procs.ServerConfig"
    assert _http.worker_class_name("gthread") == "gthread"
    assert _procs.ServerConfig("gunicorn", "a.b.EnvelopeWorker", 2, 4).label == (
        "gunicorn EnvelopeWorker x2x4"
    )


def test_the_server_comparison_has_one_nginx_arm_that_every_server_is_measured_against(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ports = iter(range(20001, 20100))
    rates: dict[int, float] = {}

    class Fake(_procs.Server):
        def start(self) -> _procs.Server:  # no process: a port and a rate
            self.port = next(ports)
            rates[self.port] = {"nginx": 40000.0, "baseline": 8000.0}.get(self.name, 4000.0)
            return self

    def fake_wrk(url: str, seconds: float, **options: Any) -> _wrk.WrkResult:
        rate = rates[int(url.split(":")[2].split("/")[0])]
        return _wrk.WrkResult(int(rate * seconds), seconds, rate, 1.0, 5.0)

    def fake(name: str) -> Any:
        return lambda config, *args, **kwargs: Fake(name, "", config)

    monkeypatch.setattr(_http, "run_wrk", fake_wrk)
    monkeypatch.setattr(_suite, "mock_server", fake("mock"))
    monkeypatch.setattr(_suite, "baseline_server", fake("baseline"))
    monkeypatch.setattr(_suite, "find_nginx", lambda: "nginx")
    monkeypatch.setattr(
        _suite, "nginx_server", lambda *args: Fake("nginx", "", _procs.ServerConfig())
    )
    monkeypatch.setattr(_suite, "verify", lambda server, bodies: None)
    default = _procs.ServerConfig("gunicorn", "gthread", 2, 4)
    monkeypatch.setattr(_suite, "alternatives", lambda config: [_procs.ServerConfig()])
    result = _suite.Run(say=lambda text: None)
    targets = {"kibana": _discover.Targets("kibana", warm="/step", warm_bytes=10, cold=["/a"])}
    options = _suite.Options(seconds=2.0, warmup_seconds=0.0)
    cold = {"kibana": tmp_path / "cold.txt"}
    _suite._other_servers(options, result, tmp_path, targets, {}, cold, default)
    measures = [row.measure for row in result.rows]
    assert [m for m in measures if "nginx" in m] == [
        "[gunicorn gthread x2x4 (default)] nginx: kibana, same bytes"
    ]
    warm = [row for row in result.rows if row.measure.endswith("] warm: kibana")]
    assert [(row.measure, row.nginx_ratio, row.met) for row in warm] == [
        ("[gunicorn gthread x2x4 (default)] warm: kibana", pytest.approx(0.1), False),
        ("[gunicorn sync x2] warm: kibana", pytest.approx(0.1), False),
    ]
    assert not [problem for problem in result.problems if "nginx" in problem]


def test_an_nginx_that_does_not_answer_the_mocks_bytes_is_stopped_and_left_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stopped: list[str] = []

    class Started(_procs.Server):
        def start(self) -> _procs.Server:
            return self

        def stop(self) -> None:
            stopped.append(self.name)

    def wrong_bytes(server: _procs.Server, bodies: dict[str, Path]) -> None:
        raise _procs.ServerFailed("nginx: GET /a answered 403")

    monkeypatch.setattr(_suite, "find_nginx", lambda: "nginx")
    monkeypatch.setattr(
        _suite, "nginx_server", lambda *args: Started("nginx", "", _procs.ServerConfig())
    )
    monkeypatch.setattr(_suite, "verify", wrong_bytes)
    problems: list[str] = []
    with contextlib.ExitStack() as stack:
        assert _suite.start_ceiling(stack, {"/a": tmp_path / "a"}, tmp_path, problems) is None
        assert stopped == ["nginx"]  # at once, not at the end of the block
    assert len(problems) == 1
    assert "answered 403" in problems[0]
