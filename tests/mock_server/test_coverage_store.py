"""``mock_server.coverage`` keeps its facts in the ``FactStore`` it is handed (else SQLite)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask

from mock_server.coverage import EXTENSION, Coverage, CoverageStore, Fact, install

FACT: Fact = ("c0ffee", "kibana", "call", "getWorkflow", 200, "")


class ListStore:
    """A ``FactStore`` in a list: what a store other than SQLite receives."""

    def __init__(self) -> None:
        self.path = "list"
        self.added: list[tuple[Fact, int, int, int]] = []

    def add(self, rows: Iterable[tuple[Fact, int, int, int]]) -> None:
        self.added += rows

    def rows(self, client: str | None = None) -> list[tuple[Any, ...]]:
        return [(*fact, *numbers) for fact, *numbers in self.added]

    def clear(self, client: str | None = None) -> None:
        self.added.clear()


def test_a_new_fact_reaches_the_given_store_at_once() -> None:
    store = ListStore()
    app = Flask("t")
    coverage = install(
        app, indexes={}, vendors=(), clock=lambda: 7, on_hit=[], state_path=None,
        report_path=None, store=store,
    )  # fmt: skip
    assert app.extensions[EXTENSION] is coverage
    coverage.add([FACT])
    assert store.added == [(FACT, 1, 7, 7)]


def test_without_a_store_the_facts_go_beside_the_state_file(tmp_path: Path) -> None:
    coverage = Coverage({}, (), lambda: 7, str(tmp_path / "state.coverage.sqlite3"))
    coverage.add([FACT])
    assert isinstance(coverage.store, CoverageStore)
    assert CoverageStore(coverage.store.path).rows() == [(*FACT, 1, 7, 7)]
