"""``benchmarks.cold_cpu``: a figure per round and API, from URLs no earlier round requested."""

from __future__ import annotations

import pytest

from benchmarks import cold_cpu


@pytest.mark.parametrize("origin", [False, True])
def test_each_api_gets_one_positive_figure_per_round(origin: bool) -> None:
    world = {"seed": 0, "workflows_per_api": 4, "runs_per_workflow": 20}
    found = cold_cpu.measure(2, 10, origin=origin, world=world)
    assert sorted(found) == ["arcee", "kibana", "trigify"]
    for figures in found.values():
        assert len(figures) == 2
        assert all(figure > 0 for figure in figures)
