"""The vendors' caches stay within their bounds however many distinct entities are looked up.

A world of 10^6 runs must not cost more memory than one of 10^2 runs beyond fixed budgets
(issue 6): plan caches are bounded by steps, body caches by bytes, workflow caches by entries.
These tests look up far more distinct entities than any budget holds and assert the sizes (never
timings).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from mock_server import create_app
from mock_server._budget import (
    BODY_BYTES,
    CACHE_BYTES,
    PLAN_STEPS,
    RESPONSE_BYTES,
    WORKFLOW_CACHE,
    CostLru,
    bytes_cost,
    compact,
    steps_cost,
)
from mock_server._config import MockConfig
from mock_server._context import WORLD_NOW_US, MockContext
from mock_server._http import ENTRY_OVERHEAD, MAX_CACHE_BYTES, CachedResponse, ResponseCache
from mock_server._state import EXTENSION
from mock_server._vocab import vocabulary
from mock_server.arcee._naming import RECENT_RUN_IDS
from mock_server.arcee._service import ArceeService
from mock_server.arcee._world import ArceeWorld
from mock_server.kibana._lists import Lists
from mock_server.kibana._naming import KibanaIds
from mock_server.kibana._runs import RunSource, RunView
from mock_server.kibana._templates import TEMPLATES
from mock_server.kibana._world import KibanaWorld
from mock_server.live import SqliteStore
from mock_server.trigify._service import TrigifyService
from mock_server.trigify._world import TrigifyWorld


def spread(workflows: int, runs: int, count: int) -> Iterator[tuple[int, int]]:
    """``count`` distinct (workflow, run) pairs scattered over the world."""
    for n in range(count):
        yield (n * 7919) % workflows, (n * 104_729) % runs


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[MockContext]:
    store = SqliteStore(str(tmp_path / "state.sqlite3"))
    yield MockContext(MockConfig(workflows_per_api=1000, runs_per_workflow=1000), store)
    store.close()


def test_cost_lru_keeps_total_cost_within_budget() -> None:
    cache: CostLru[bytes] = CostLru(lambda n: b"x" * n, 1000, len)
    for n in range(1, 400):
        cache(n)
        assert cache.cache_info().cost <= 1000
    info = cache.cache_info()
    assert info.misses == 399
    assert info.currsize >= 2  # the newest entries are kept
    assert cache(399) is cache(399)  # a hit returns the stored object
    assert cache.cache_info().hits == 2


def test_cost_lru_keeps_only_the_latest_value_over_budget_apart() -> None:
    cache: CostLru[bytes] = CostLru(lambda n: b"x" * n, 100, len)
    cache(50)
    big = cache(500)
    assert big == b"x" * 500
    assert cache(500) is big  # the oversize slot answers the next pages of the same run
    info = cache.cache_info()
    assert (info.currsize, info.cost, info.hits) == (1, 50, 1)
    assert cache(600) == b"x" * 600  # replaces the oversize value
    assert cache(500) is not big
    assert cache.cache_info().cost == 50
    cache.cache_clear()
    assert cache.cache_info().currsize == cache.cache_info().cost == 0


def test_cost_lru_rejects_a_negative_budget() -> None:
    with pytest.raises(ValueError, match="max_cost"):
        CostLru[int](len, -1, int)


def test_costs_count_steps_and_bytes() -> None:
    assert steps_cost(10) > steps_cost(0) > 0
    assert bytes_cost(b"abc") - bytes_cost(None) == 3


def test_kibana_caches_stay_bounded(ctx: MockContext) -> None:
    world = KibanaWorld(ctx.seed, 1000, 1000, WORLD_NOW_US, vocabulary())
    source = RunSource(ctx, world)
    for workflow, run in spread(1000, 1000, 3000):
        view = source.static_view(workflow, run)
        assert view.timeline is not None
        view.steps()  # a frozen view keeps its rendered steps: its cost must allow for them
    frozen = source._frozen.cache_info()  # step ids live in the (frozen) views
    assert 0 < frozen.cost <= PLAN_STEPS
    assert frozen.misses > frozen.currsize  # it did evict
    assert world.plan.cache_info().cost <= PLAN_STEPS
    assert world.workflow.cache_info().currsize <= WORKFLOW_CACHE
    header = world.header.cache_info()
    assert header.maxsize is not None
    assert header.currsize <= header.maxsize


def test_a_frozen_runs_plan_is_cached_only_in_its_view(ctx: MockContext) -> None:
    world = KibanaWorld(ctx.seed, 10, 10, WORLD_NOW_US, vocabulary())
    source = RunSource(ctx, world)
    old = 5  # runs 0..2 may still change; older runs of a workflow are terminal (frozen)
    assert source.static_view(0, old).cacheable
    assert world.plan.cache_info().currsize == 0
    assert source._frozen.cache_info().currsize == 1
    assert not source.static_view(0, 1).cacheable  # workflow 0's run 1 is running
    assert world.plan.cache_info().currsize == 1  # its plan is cached, its view is not


def test_arcee_caches_stay_bounded(ctx: MockContext) -> None:
    service = ArceeService(ctx)
    world = service.world
    for workflow, run in spread(1000, 1000, 3000):
        world.timeline(workflow, run)
    info = world.planned.cache_info()
    assert 0 < info.cost <= PLAN_STEPS
    assert info.misses > info.currsize  # it did evict
    assert world.workflow.cache_info().currsize <= WORKFLOW_CACHE
    assert world.workflow_id.cache_info().currsize <= WORKFLOW_CACHE


def test_arcee_id_lookups_stay_bounded(ctx: MockContext) -> None:
    service = ArceeService(ctx)
    ids = service.world.ids
    for workflow, run in spread(1000, 1000, 3000):
        ref = service.find_workflow(ids.workflow_id(workflow))
        assert ref is not None
        assert service.find_run(ref, ids.run_id(workflow, run)) is not None
    assert service.find_workflow("not-an-id") is None
    for lru in (service.find_workflow, ids.workflow_id):
        assert lru.cache_info().currsize <= WORKFLOW_CACHE
    assert len(ids._run_ids) <= RECENT_RUN_IDS
    assert len(ids._run_indices) <= RECENT_RUN_IDS


def test_trigify_caches_stay_bounded(ctx: MockContext) -> None:
    service = TrigifyService(ctx)
    world = service.world
    for workflow, run in spread(1000, 1000, 3000):
        if world.has_run(workflow, run):
            key = service.find_workflow(world.ids.workflow_id(workflow))
            assert key is not None
            service.execution_body(key, world.ids.run_id(workflow, run))
    for n in range(200):
        key = service.find_workflow(world.ids.workflow_id(n * 5))
        assert key is not None
        service.executions_body(key, 1 + n % 10, 100)
        service.workflow_body(key)
    for limit, offset in ((100, n * 3) for n in range(100)):
        service.workflows_body(limit, offset, None)
    assert 0 < world.planned.cache_info().cost <= PLAN_STEPS
    for cache in (
        service.execution_body,
        service.executions_body,
        service.workflow_body,
        service.workflows_body,
    ):
        info = cache.cache_info()
        assert 0 < info.cost <= info.max_cost <= BODY_BYTES
    for cache in (service.execution_body, service.executions_body, service.workflows_body):
        assert cache.cache_info().misses > cache.cache_info().currsize  # they did evict
    for lru in (world.workflow, world.state, world.workflow_id):
        assert lru.cache_info().currsize <= WORKFLOW_CACHE


def test_worlds_built_directly_keep_their_bounds() -> None:
    for world in (
        ArceeWorld(0, 1000, 1000, WORLD_NOW_US, vocabulary()),
        TrigifyWorld(0, 1000, 1000, WORLD_NOW_US, vocabulary()),
    ):
        for workflow, run in spread(1000, 1000, 1500):
            if world.has_run(workflow, run):
                world.timeline(workflow, run)
        assert world.planned.cache_info().cost <= PLAN_STEPS


def _allocated(make: Callable[[], object]) -> int:
    """Bytes still allocated (tracemalloc) for what ``make`` returns, once it has returned."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = make()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


def test_orjson_bodies_keep_a_grown_buffer_and_compact_gives_it_back() -> None:
    body = {"message": "x" * 800}
    assert _allocated(lambda: orjson.dumps(body)) > 4 * 800  # why caches keep copies
    assert _allocated(lambda: compact(orjson.dumps(body))) < 800 + 200
    assert compact(orjson.dumps(body)) == orjson.dumps(body)


def test_cached_bodies_cost_what_their_budget_counts(ctx: MockContext) -> None:
    service = TrigifyService(ctx)
    key = service.find_workflow(service.world.ids.workflow_id(3))
    assert key is not None
    service.workflow_data(key)  # the world's own caches filled first: only the body is measured
    kept = _allocated(lambda: service.workflow_body(key))
    assert kept <= 2 * service.workflow_body.cache_info().cost  # not orjson's 8 KiB buffer
    response = ResponseCache(size=10)
    entry = CachedResponse("200 OK", (), orjson.dumps({"a": "x" * 800}), None)
    assert _allocated(lambda: response.put(("k",), entry)) < 800 + ENTRY_OVERHEAD


def test_one_body_budget_is_shared_out_between_every_body_cache(ctx: MockContext) -> None:
    service = TrigifyService(ctx)
    trigify = sum(
        cache.max_cost
        for cache in (
            service.execution_body,
            service.executions_body,
            service.workflow_body,
            service.workflows_body,
        )
    )
    assert MAX_CACHE_BYTES == RESPONSE_BYTES
    assert trigify + RESPONSE_BYTES == CACHE_BYTES


def test_the_response_cache_never_exceeds_its_share(tmp_path: Path) -> None:
    app = create_app(
        {
            "workflows_per_api": 1000,
            "runs_per_workflow": 1000,
            "state_path": str(tmp_path / "state.sqlite3"),
        }
    )
    cache = app.extensions[EXTENSION].cache
    client = app.test_client()
    ids = KibanaIds(MockConfig().seed)
    answered = 0
    # The first templates' workflows live in the default space; runs from 3 on are finished.
    for workflow, run in spread(len(TEMPLATES), 997, 1500):
        path = f"/api/workflows/executions/{ids.execution_id(workflow, run + 3)}"
        response = client.get(path, headers={"Authorization": "ApiKey test"})
        answered += response.status_code == 200
        assert cache.bytes <= MAX_CACHE_BYTES
    assert answered == 1500
    assert 100 < len(cache) < answered  # it did fill, and evict


def test_a_workflow_step_list_renders_only_the_steps_of_its_page(ctx: MockContext) -> None:
    world = KibanaWorld(ctx.seed, 1000, 1000, WORLD_NOW_US, vocabulary())
    source = RunSource(ctx, world)
    lists = Lists(world, source)
    ref = lists.workflow(world.ids.workflow_id(0), "default")
    assert ref is not None
    rendered: list[int] = []
    original = RunView.steps

    def counted(view: RunView) -> list[dict[str, object]]:
        rendered.append(len(view.step_ids))
        return original(view)

    page = lists.step_executions(ref, {"page": 3, "size": 10})
    assert page["total"] > 1000  # every run of the workflow is counted
    assert len(page["results"]) == 10
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RunView, "steps", counted)
        again = lists.step_executions(ref, {"page": 4, "size": 10})
    assert len(again["results"]) == 10
    assert 0 < len(rendered) <= 11  # the runs holding the page, not the window's ~2,500 runs
    for view in (source.static_view(0, run) for run in range(40)):
        assert view.step_count() == len(view.steps())
