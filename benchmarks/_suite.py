"""The whole run, in order: no-HTTP measures first (quiet machine), then the servers.

1. generation and validation in this process (one core, nothing else of ours running);
2. the mock (default WSGI configuration, a 10^5-run world), its constant-bytes baseline and
   nginx serving the same bytes (the ceiling, if installed): discovery over HTTP, a warm-up,
   then per API baseline, nginx, warm and cold interleaved, then the big payloads;
3. memory growth: a fresh mock, warmed up, then 100,000 cold requests;
4. the same baseline/warm/cold for the other WSGI servers (gunicorn sync and gthread, granian);
5. the world-size memory comparison on two fresh servers;
6. the proxy's added latency per request (``_proxy``: no wrk needed).
7. the live-run store: a live-run read and a resume on SQLite and on Redis (``_live``);
8. the kit: ``stepspec check``'s own CPU per response judged, live and offline (``_kit``).

Every group can be selected with ``--only``; a group that cannot run (a vendor not mounted yet,
granian or nginx not installed) leaves a line in ``problems`` instead of stopping the run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks import _generation, _live, _memory, _validation
from benchmarks._discover import APIS, DISCOVER, ApiAuth, Client, DiscoveryFailed, Targets
from benchmarks._http import (
    COLD_URLS,
    Arm,
    HttpBench,
    baseline_server,
    default_server_config,
    fetch_body,
    interleave,
    mock_server,
    write_paths,
)
from benchmarks._nginx import INSTALL_HINT, find_nginx, nginx_server, verify
from benchmarks._procs import Server, ServerConfig
from benchmarks._report import Row

GROUPS = ("generation", "validation", "http", "memory", "servers", "proxy", "live", "kit")


@dataclass
class Options:
    """What to run and for how long."""

    seconds: float = 10.0
    warmup_seconds: float = 2.0
    cold_requests: int = 100_000
    groups: tuple[str, ...] = GROUPS
    workdir: Path | None = None
    compare_tree: Path | None = None
    """Another checkout whose mock joins the HTTP blocks (before/after in one run)."""


@dataclass
class Run:
    """What a run produced: rows, and the problems that kept measures from running."""

    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    say: Callable[[str], None] = lambda text: print(text, flush=True)

    def add(self, *rows: Row) -> None:
        for row in rows:
            self.rows.append(row)
            met = "" if row.met is None else ("  [met]" if row.met else "  [NOT met]")
            rate = f"{row.rate:,.0f} {row.unit}" if row.rate is not None else ""
            ratio = f"  ratio {row.ratio:.2f}" if row.ratio is not None else ""
            if row.nginx_ratio is not None:
                ratio += f"  x nginx {row.nginx_ratio:.2f}"
            self.say(f"  {row.measure}: {rate}{ratio}{met}")


def run(options: Options, say: Callable[[str], None] | None = None) -> Run:
    """Run the selected groups; returns every row and problem."""
    result = Run() if say is None else Run(say=say)
    with tempfile.TemporaryDirectory(prefix="stepspec-bench-") as tmp:
        workdir = options.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        _no_http(options, result)
        if {"http", "memory", "servers"} & set(options.groups):
            _with_servers(options, result, workdir)
        if "proxy" in options.groups:
            _proxy_latency(options, result, workdir)
        if "live" in options.groups:
            result.say("live-run store: read and resume, SQLite and Redis interleaved")
            try:
                result.add(
                    *_live.measure(
                        default_server_config(), workdir, options.seconds, options.warmup_seconds
                    )
                )
            except (RuntimeError, OSError, ValueError) as error:  # no redis-server, wrk failed
                result.problems.append(f"live store not measured: {error}")
        if "kit" in options.groups:
            _kit_cpu(options, result, workdir)
    return result


def _kit_cpu(options: Options, result: Run, workdir: Path) -> None:
    from benchmarks import _kit

    result.say("kit: stepspec check's CPU per response, live and offline (HAR)")
    try:
        result.add(*_kit.measure(workdir, rounds=3 if options.seconds < 10 else 5))
    except (RuntimeError, OSError, ValueError) as error:  # ServerFailed, a failed child
        result.problems.append(f"kit CPU not measured: {error}")


def start_ceiling(
    stack: contextlib.ExitStack, bodies: dict[str, Path], workdir: Path, problems: list[str]
) -> Server | None:
    """nginx serving ``bodies`` for the life of ``stack``; None (and a line in ``problems``)
    when it is not installed, does not start or does not answer exactly ``bodies``."""
    executable = find_nginx()
    if executable is None:
        missing = f"nginx: {INSTALL_HINT}; no 'x nginx' figures, HTTP targets not judged"
        problems.extend([] if missing in problems else [missing])
        return None
    server = nginx_server(executable, bodies, workdir)
    try:
        stack.enter_context(server)
        verify(server, bodies)
    except RuntimeError as error:  # ServerFailed: it did not start, or not with the mock's bytes
        server.stop()
        problems.append(f"nginx left out: no 'x nginx' figures, targets not judged: {error}")
        return None
    return server


def _proxy_latency(options: Options, result: Run, workdir: Path) -> None:
    from benchmarks import _proxy

    result.say("proxy: the same request direct and through stepspec proxy, alternately")
    try:
        result.add(_proxy.measure(options.seconds, options.warmup_seconds, workdir))
    except (RuntimeError, DiscoveryFailed, OSError) as error:  # ServerFailed is a RuntimeError
        result.problems.append(f"proxy latency not measured: {error}")


def _no_http(options: Options, result: Run) -> None:
    wanted = {"generation", "validation"} & set(options.groups)
    if not wanted:
        return
    budget = min(options.seconds, 5.0)
    result.say("generation (no HTTP)")
    sources = _generation.sources(result.problems)
    for source in sources:
        rows = _generation.measure(source, budget)
        if "generation" in wanted:
            result.add(*rows)
    if "validation" not in wanted:
        return
    result.say("validation (no HTTP)")
    corpora = {source.api: source.corpus for source in sources if source.corpus}
    for api in _validation.STEP_SCHEMAS:
        objects, origin = corpora.get(api), "mock-generated steps"
        if not objects:
            objects, origin = _validation.fixture_steps(api), "valid fixtures"
            result.problems.append(f"validation: {api} measured on its fixtures, not mock output")
        result.add(*_validation.measure(api, objects, budget, origin))
    kibana = next((s for s in sources if s.api == "kibana"), None)
    if kibana is not None and kibana.ten_thousand is not None:
        steps, origin = kibana.ten_thousand(), "the mock's 10,000-step execution"
    elif kibana is not None and kibana.corpus:
        steps, origin = kibana.corpus, "mock-generated steps, repeated"
    else:
        steps, origin = _validation.fixture_steps("kibana"), "valid fixtures, repeated"
    result.add(_validation.measure_execution(_validation.execution_pages(steps), origin))


def _discover_all(base_url: str, result: Run, want: int) -> dict[str, Targets]:
    found = {}
    for auth in APIS:
        try:
            targets = DISCOVER[auth.name](Client(base_url, auth), want)
        except (DiscoveryFailed, KeyError, TypeError, ValueError, OSError) as error:
            result.problems.append(f"http: {auth.name} not measured: {error}")
            continue
        result.problems += [f"big: the world has no {what}" for what in targets.missing]
        result.say(
            f"  {auth.name}: warm {targets.warm} ({targets.warm_bytes} B), "
            f"{len(targets.cold):,} cold URLs, {len(targets.big)} big"
        )
        found[auth.name] = targets
    return found


def _auth(name: str) -> ApiAuth:
    return next(auth for auth in APIS if auth.name == name)


def _with_servers(options: Options, result: Run, workdir: Path) -> None:
    config = default_server_config()
    result.say(f"mock server: {config.label} (the mock's default), world {_http_world()}")
    with mock_server(config, workdir) as mock:
        result.say("  discovering URLs over HTTP")
        targets = _discover_all(mock.base_url, result, COLD_URLS)
        if not targets:
            return
        bodies, cold_files, first_s = _payloads(mock.base_url, targets, workdir)
        tree = options.compare_tree if "http" in options.groups else None
        granian = granian_config(config) if tree is None and "http" in options.groups else None
        other: contextlib.AbstractContextManager[Server | None]
        if tree is not None:
            other = mock_server(config, workdir, name="mock-other-tree", tree=tree)
        elif granian is not None:
            other = mock_server(granian, workdir, name="mock-granian")
        else:
            other = contextlib.nullcontext(None)
        with (
            baseline_server(config, bodies, workdir) as base,
            other as other_mock,
            contextlib.ExitStack() as stack,
        ):
            bench = HttpBench(mock, base, options.seconds, options.warmup_seconds)
            if "http" in options.groups:
                bench.nginx = start_ceiling(stack, bodies, workdir, result.problems)
            if other_mock is not None and tree is not None:
                bench.other, bench.other_tag = other_mock, f" [{tree.name}]"
                result.say(f"  also measuring the mock of {tree} (rows tagged [{tree.name}])")
            elif other_mock is not None and granian is not None:
                bench.other, bench.other_tag = other_mock, GRANIAN_TAG
                result.say(f"  also measuring the mock under {granian.label} (--server granian)")
            if "http" in options.groups:
                result.say("warm-up: every API's warm URL and cold list")
                for api, found in targets.items():
                    bench.warm_up(found, _auth(api), cold_files[api])
                for api, found in targets.items():
                    result.say(f"baseline, warm and cold, interleaved: {api}")
                    result.add(*bench.measure_api(found, _auth(api), cold_files[api]))
                _big_rows(bench, targets, first_s, result)
    if "memory" in options.groups:
        lists = [(_auth(api), found.warm, cold_files[api]) for api, found in targets.items()]
        result.say(f"memory: {options.cold_requests:,} cold requests on a fresh mock")
        try:
            result.add(
                _memory.growth_row(
                    config, workdir, lists, options.warmup_seconds, options.cold_requests
                )
            )
        except RuntimeError as error:  # ServerFailed, WrkFailed, no answers
            result.problems.append(f"memory growth not measured: {error}")
    if "servers" in options.groups:
        _other_servers(options, result, workdir, targets, bodies, cold_files, config)
    if "memory" in options.groups:
        headline = next(iter(targets))
        result.say("memory: world of 10^2 vs 10^6 runs")
        try:
            result.add(
                *_memory.world_rows(
                    config,
                    workdir,
                    lambda client, want: DISCOVER[headline](client, want, big=False),
                    _auth(headline),
                    options.warmup_seconds + 1,
                    min(options.cold_requests, 20_000),
                )
            )
        except (RuntimeError, DiscoveryFailed) as error:
            result.problems.append(f"memory by world size not measured: {error}")


def _http_world() -> str:
    from benchmarks._http import MOCK_WORLD

    runs = MOCK_WORLD["workflows_per_api"] * MOCK_WORLD["runs_per_workflow"]
    return f"{runs:,} runs per API"


def _payloads(
    base_url: str, targets: dict[str, Targets], workdir: Path
) -> tuple[dict[str, Path], dict[str, Path], dict[str, float]]:
    """Save the bodies the baseline must serve and the cold lists; time first big requests."""
    bodies: dict[str, Path] = {}
    cold_files: dict[str, Path] = {}
    first_s: dict[str, float] = {}
    for n, (api, found) in enumerate(targets.items()):
        bodies[found.warm], _ = fetch_body(base_url, _auth(api), found.warm, workdir / f"warm-{n}")
        cold_files[api] = write_paths(found.cold, workdir / f"cold-{api}.txt")
        for m, (measure, path) in enumerate(found.big.items()):
            file = workdir / f"big-{n}-{m}"
            bodies[path], first_s[measure] = fetch_body(base_url, _auth(api), path, file)
    return bodies, cold_files, first_s


def _big_rows(
    bench: HttpBench, targets: dict[str, Targets], first_s: dict[str, float], result: Run
) -> None:
    for api, found in targets.items():
        for measure, path in found.big.items():
            result.say(measure)
            result.add(*bench.measure_big(measure, path, _auth(api), first_s[measure]))


GRANIAN_TAG = " [--server granian]"
"""The tag of the rows of the mock as ``stepspec mock --server granian`` serves it."""


def granian_config(default: ServerConfig) -> ServerConfig | None:
    """``stepspec mock --server granian``'s configuration (workers as the default's, its
    blocking threads), measured beside the default in every API's block; None without granian."""
    if importlib.util.find_spec("granian") is None:
        return None
    from mock_server._granian import BLOCKING_THREADS

    return ServerConfig("granian", "", default.workers, BLOCKING_THREADS)


def alternatives(default: ServerConfig) -> list[ServerConfig]:
    """The WSGI servers compared with the default (granian only if it is installed)."""
    candidates = [
        replace(default, worker_class="sync", threads=1),
        replace(default, worker_class="gthread", threads=4),
        replace(default, worker_class="gthread", threads=8),
    ]
    if importlib.util.find_spec("granian") is not None:
        # Its own default number of blocking (Python) threads, and the same 4 as gthread.
        candidates.append(ServerConfig("granian", "", default.workers, 1))
        candidates.append(ServerConfig("granian", "", default.workers, 4))
    return [c for c in candidates if c != default]


def _other_servers(
    options: Options,
    result: Run,
    workdir: Path,
    targets: dict[str, Targets],
    bodies: dict[str, Path],
    cold_files: dict[str, Path],
    default: ServerConfig,
) -> None:
    """Every server configuration at once, their arms interleaved in one block, so the
    comparison between servers is as fair as the ratios within one."""
    headline = next(iter(targets))
    found, auth, cold = targets[headline], _auth(headline), cold_files[headline]
    if importlib.util.find_spec("granian") is None:
        result.problems.append("servers: granian not installed (pip install granian)")
    with contextlib.ExitStack() as stack:
        benches: list[tuple[HttpBench, list[Arm]]] = []
        ceiling = start_ceiling(stack, bodies, workdir, result.problems)
        for config in (default, *alternatives(default)):
            tag = " (default)" if config == default else ""
            result.say(f"server comparison: starting {config.label}{tag}")
            try:
                mock = stack.enter_context(mock_server(config, workdir))
                base = stack.enter_context(baseline_server(config, bodies, workdir))
            except RuntimeError as error:
                result.problems.append(f"servers: {config.label} not measured: {error}")
                continue
            label = f"[{config.label}{tag}] "
            bench = HttpBench(mock, base, options.seconds, options.warmup_seconds, label)
            if not benches:  # one nginx arm in the block, the ceiling of every server's rows
                bench.nginx = ceiling
            bench.warm_up(found, auth, cold)
            benches.append((bench, bench.api_arms(found, auth, cold)))
        result.say("server comparison: all servers interleaved")
        interleave(
            [arm for _, arms in benches for arm in arms], options.seconds, options.warmup_seconds
        )
        nginx_rate = nginx_throughput([arm for _, arms in benches for arm in arms])
        rows = [bench.api_rows(found, arms, nginx_rate) for bench, arms in benches]
    first = benches[0][0] if benches else None
    reference: dict[str, float | None] = {}
    if first is not None and "(default)" in first.label:
        reference = {row.measure.removeprefix(first.label): row.rate for row in rows[0]}
    for (bench, _), server_rows in zip(benches, rows, strict=True):
        for row in server_rows if bench is not first else ():
            rate = reference.get(row.measure.removeprefix(bench.label))
            if rate and row.rate is not None:
                row.details["vs_default_server"] = row.rate / rate
                text = f"{row.rate / rate:.2f}x the default server ({default.label})"
                row.note = f"{row.note}; {text}" if row.note else text
        result.add(*server_rows)


def nginx_throughput(arms: Sequence[Arm]) -> float | None:
    """The median-slice req/s of the measured nginx arm among ``arms`` (None: there is none)."""
    ceiling = next((arm for arm in arms if arm.name == "nginx" and arm.slices), None)
    return ceiling.total().requests_per_s if ceiling is not None else None


def groups_from(text: str | None) -> tuple[str, ...]:
    """``"http,memory"`` -> ("http", "memory"); None -> every group. Raises on unknown names."""
    if not text:
        return GROUPS
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        raise ValueError(f"unknown group(s) {unknown}; known: {', '.join(GROUPS)}")
    return names


__all__: Sequence[str] = ("GROUPS", "Options", "Run", "groups_from", "run")
