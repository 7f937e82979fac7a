"""Generation without HTTP: how fast each vendor turns (seed, ids) into step payloads.

Each ``Source`` drives one vendor's world and renderer directly (no Flask, no sockets), on a
fresh world so no cache has seen the runs: it walks distinct runs, renders every step of each and
serialises it with orjson, as a cold request would. The big case renders the vendor's 1,000-step
execution from scratch. The payloads produced are kept as the corpus of the validation measure.

These adapters are the only part of the suite that knows the mock's internals (world and render
functions); the HTTP measures use the public API only.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from benchmarks._report import Row

Json = Any
STEP_TARGET_PER_S = 20_000
BIG_TARGET_MS = 30.0
"""Issue 15: a 1,000-step execution in <= 30 ms (issue 6 had 50 ms)."""
GENERATION_WORLD = {"workflows_per_api": 100, "runs_per_workflow": 1000}
"""10^5 runs per API: enough distinct runs that no run is rendered twice."""


@dataclass
class Source:
    """One vendor's generator: runs of fresh worlds, and its 1,000-step execution."""

    api: str
    step_schema: str
    runs: Callable[[], Iterator[list[Json]]]
    """A fresh world's runs, each as its list of rendered step payloads."""
    big: Callable[[], list[Json]] | None = None
    """Render the 1,000-step execution on a fresh world (its steps)."""
    big_label: str = ""
    ten_thousand: Callable[[], list[Json]] | None = None
    """The steps of a 10,000-step execution, if the world has one (validation uses them)."""
    corpus: list[Json] = field(default_factory=list)


def _context(config: dict[str, Any]) -> Any:
    """A ``MockContext`` as ``create_app`` builds it (vocabulary loaded, live store empty)."""
    from mock_server import create_app

    return create_app({"seed": 0, **config}).extensions["stepspec"].context


def arcee_source(ctx: Any) -> Source:
    """Arcee: the steps list of each run (``ArceeService.steps_body``)."""
    from mock_server.arcee import ArceeService

    def runs() -> Iterator[list[Json]]:
        service = ArceeService(ctx)
        world, ids = service.world, service.world.ids
        for n in range(world.workflows * world.runs):
            index, run = n % world.workflows, n // world.workflows
            ref = service.find_workflow(ids.workflow_id(index))
            view = service.find_run(ref, ids.run_id(index, run)) if ref else None
            if view is not None:
                yield list(service.steps_body(view))

    def render(run: int) -> list[Json]:
        service = ArceeService(ctx)  # fresh: nothing of the bulk workflow cached yet
        world = service.world
        bulk = world.workflow_indices()[-1]
        ref = service.find_workflow(world.ids.workflow_id(bulk))
        view = service.find_run(ref, world.ids.run_id(bulk, run)) if ref else None
        return list(service.steps_body(view)) if view else []

    def big() -> list[Json]:
        return render(thousand)

    probe = ArceeService(ctx).world
    runs_of_bulk = probe.run_count(probe.workflow_indices()[-1])
    thousand = next((run for run in range(runs_of_bulk) if len(render(run)) == 1000), -1)
    if thousand < 0:
        return Source("arcee", "urn:stepspec:arcee:step", runs)

    return Source("arcee", "urn:stepspec:arcee:step", runs, big, "arcee steps list")


def trigify_source(ctx: Any) -> Source:
    """Trigify: the ``steps`` of each execution detail (``_render.steps_payload``)."""
    from mock_server.trigify._render import steps_payload
    from mock_server.trigify._service import TrigifyService

    def runs() -> Iterator[list[Json]]:
        world = TrigifyService(ctx).world
        for n in range(world.workflows * world.runs):
            index, run = n % world.workflows, n // world.workflows
            if world.has_run(index, run):
                yield steps_payload(*world.timeline(index, run))

    return Source("trigify", "urn:stepspec:trigify:step", runs)


def kibana_source(ctx: Any) -> Source:
    """Kibana: every step execution of each run (``RunView.steps``, as the step endpoint)."""
    from mock_server.kibana._runs import RunSource
    from mock_server.kibana._world import KibanaWorld

    def fresh() -> Any:
        config = ctx.config
        world = KibanaWorld(
            ctx.seed,
            config.workflows_per_api,
            config.runs_per_workflow,
            ctx.world_now_us,
            ctx.vocab,
        )
        return RunSource(ctx, world)

    def runs() -> Iterator[list[Json]]:
        source = fresh()
        world = source.world
        for n in range(world.workflow_count * world.run_count):
            index, run = n % world.workflow_count, n // world.workflow_count
            yield source.static_view(index, run).steps()

    def big() -> list[Json]:
        return list(fresh().static_view(bulk, thousand).steps())

    source = Source("kibana", "urn:stepspec:kibana:step-execution", runs)
    try:
        from mock_server.kibana._world import BULK_INDEX as bulk
    except ImportError:
        return source
    probe = fresh()
    sizes = [len(probe.static_view(bulk, run).steps()) for run in range(probe.world.runs_of(bulk))]
    if 1000 not in sizes:
        return source
    thousand = sizes.index(1000)
    source.big, source.big_label = big, "kibana execution"
    if 10_000 in sizes:
        run = sizes.index(10_000)
        source.ten_thousand = lambda: list(fresh().static_view(bulk, run).steps())
    return source


ADAPTERS: dict[str, Callable[[Any], Source]] = {
    "kibana": kibana_source,
    "arcee": arcee_source,
    "trigify": trigify_source,
}


def sources(problems: list[str]) -> list[Source]:
    """The vendors whose generator can be driven now (the others are named in ``problems``)."""
    ctx = _context(GENERATION_WORLD)
    found = []
    for api, adapter in ADAPTERS.items():
        try:
            found.append(adapter(ctx))
        except (ImportError, AttributeError) as error:
            problems.append(f"generation: {api} not measured ({error})")
    return found


def measure(source: Source, seconds: float, corpus_size: int = 5000) -> list[Row]:
    """Rows for one vendor: step payloads/s over distinct runs, and the big execution's time."""
    rows = []
    steps = runs = 0
    gc.collect()
    started = time.perf_counter()
    deadline = started + seconds
    for payloads in source.runs():
        for payload in payloads:
            orjson.dumps(payload)
        steps += len(payloads)
        runs += 1
        if len(source.corpus) < corpus_size:
            source.corpus.extend(payloads)
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - started
    rate = steps / elapsed
    rows.append(
        Row(
            f"generation: {source.api} step payloads",
            rate=rate,
            unit="steps/s",
            target=f">= {STEP_TARGET_PER_S:,} steps/s",
            met=rate >= STEP_TARGET_PER_S,
            details={"steps": steps, "runs": runs, "seconds": elapsed, "us_per_step": 1e6 / rate},
        )
    )
    if source.big is not None:
        times, count = [], 0
        for _ in range(3):
            gc.collect()
            start = time.perf_counter()
            payloads = source.big()
            for payload in payloads:
                orjson.dumps(payload)
            times.append((time.perf_counter() - start) * 1000)
            count = len(payloads)
        best = statistics.median(times)
        rows.append(
            Row(
                f"generation: {source.big_label}, 1,000 steps",
                rate=1000.0 / best,
                unit="exec/s",
                p50_ms=best,
                target=f"<= {BIG_TARGET_MS:.0f} ms",
                met=best <= BIG_TARGET_MS,
                details={"steps": count, "ms_each_try": times},
            )
        )
    return rows
