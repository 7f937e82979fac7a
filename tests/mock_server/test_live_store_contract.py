"""One contract, two stores: every ``LiveStore`` test runs against SQLite and a real Redis.

The Redis store must answer every operation as the SQLite store does (the embedded default is
the reference): besides the suite run against both, ``test_redis_answers_as_sqlite_does`` plays
one script of operations (repeated answers, cancels, anchors, claims, a prune) on both stores
and compares every result, so a change of SQLite's semantics fails here until Redis follows.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server._timeline import HitlResponse
from mock_server.live import LiveStore, RedisStore, SqliteStore, StoreUnavailable
from tests.real_servers import RedisServer, free_port, start_redis

API = "kibana"
TTL_S = 3600.0


def _name(seq: int) -> str:
    return f"run-{seq}"


def _redis_store(server: RedisServer, *, seed: int = 0, prefix: str | None = None) -> RedisStore:
    return RedisStore(
        server.url(), seed=seed, prefix=prefix or f"t{uuid.uuid4().hex[:10]}", ttl_s=TTL_S
    )


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveStore]:
    """A fresh store of each kind (Redis: the session's server, a prefix of its own)."""
    if request.param == "sqlite":
        found: LiveStore = SqliteStore(str(tmp_path / "live.sqlite3"))
    else:
        found = _redis_store(request.getfixturevalue("redis_server"))
    yield found
    close = getattr(found, "close", None)
    if close is not None:
        close()


def answer(by: str, at: int, **payload: Any) -> HitlResponse:
    return HitlResponse(by, at, "api", payload)


def test_a_run_is_stored_with_its_facts(store: LiveStore) -> None:
    spec = {"inputs": {"n": 1, "nested": [1, {"a": None}]}, "is_test": True}
    first = store.create_run(API, "wf", 1_700_000_000_123_000, spec, _name)
    second = store.create_run("arcee", "wf", 5, {}, lambda seq: f"arcee-{seq}")
    assert (first.seq, first.run_id) == (1, "run-1")
    assert (second.seq, second.run_id) == (2, "arcee-2")  # one sequence across APIs
    assert store.get_run("run-1") == first
    assert store.get_run("run-1").spec == spec  # type: ignore[union-attr]
    assert store.get_run("arcee-2") == second
    assert store.get_run("run-404") is None


def test_runs_of_a_workflow_are_newest_first_ties_by_sequence(store: LiveStore) -> None:
    for started in (10, 30, 20, 30):
        store.create_run(API, "wf", started, {}, _name)
    store.create_run(API, "other", 40, {}, _name)
    store.create_run("arcee", "wf", 50, {}, lambda seq: f"arcee-{seq}")
    listed = [(run.started_us, run.seq) for run in store.runs_for_workflow(API, "wf")]
    assert listed == [(30, 4), (30, 2), (20, 3), (10, 1)]
    assert store.runs_for_workflow(API, "none") == []


def test_one_recorded_answer_per_wait_and_position(store: LiveStore) -> None:
    run = store.create_run(API, "wf", 1, {}, _name)
    assert store.events(run.run_id).responses == {}
    assert store.record_response(run.run_id, 2, answer("ann", 10, approved=True)) is True
    assert store.record_response(run.run_id, 2, answer("bob", 11, approved=False)) is False
    assert store.record_response(run.run_id, 5, answer("bob", 12, note="later")) is True
    events = store.events(run.run_id)
    assert events.responses == {
        2: answer("ann", 10, approved=True),
        5: answer("bob", 12, note="later"),
    }
    assert events.cancelled_us is None


def test_a_cancel_is_recorded_once(store: LiveStore) -> None:
    run = store.create_run(API, "wf", 1, {}, _name)
    assert store.record_cancel(run.run_id, 100) is True
    assert store.record_cancel(run.run_id, 200) is False
    assert store.events(run.run_id).cancelled_us == 100


def test_the_first_anchor_of_a_static_run_wins(store: LiveStore) -> None:
    assert store.get_anchor("static-1") is None
    first = store.anchor("static-1", 1_000, 2_000)
    assert (first.world_us, first.real_us) == (1_000, 2_000)
    assert store.anchor("static-1", 5, 6) == first
    assert store.get_anchor("static-1") == first


def test_a_claim_is_granted_once(store: LiveStore) -> None:
    assert store.claim("auto:kibana:0:1:0", 5) is True
    assert store.claim("auto:kibana:0:1:0", 6) is False
    assert store.claim("auto:kibana:0:1:1", 6) is True


def test_concurrent_answers_have_exactly_one_winner(store: LiveStore) -> None:
    run = store.create_run(API, "wf", 1, {}, _name)
    barrier = threading.Barrier(16)
    results: dict[int, bool] = {}

    def go(n: int) -> None:
        barrier.wait()
        results[n] = store.record_response(run.run_id, 0, answer(f"user-{n}", n, n=n))
        if n % 2:
            store.claim("slot", n)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, won in results.items() if won]
    assert len(winners) == 1
    won = winners[0]
    assert store.events(run.run_id).responses == {0: answer(f"user-{won}", won, n=won)}
    assert store.claim("slot", 99) is False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_processes_agree_on_one_winner(store: LiveStore) -> None:
    run = store.create_run(API, "wf", 1, {}, _name)  # the parent holds a connection when it forks
    children = []
    for child in range(4):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            won = 0
            try:
                won |= store.record_response(run.run_id, 0, answer(f"c{child}", child)) << 0
                won |= store.claim("fork-slot", child) << 1
                won |= store.record_cancel(run.run_id, child) << 2
                for i in range(20):
                    store.create_run(API, "wf", 10 + i, {"child": child}, _name)
            except BaseException:
                os._exit(100)
            os._exit(won)
        children.append(pid)
    codes = []
    for pid in children:
        _, status = os.waitpid(pid, 0)
        codes.append(os.waitstatus_to_exitcode(status))
    assert all(code < 8 for code in codes), codes
    for bit in (1, 2, 4):
        assert sum(bool(code & bit) for code in codes) == 1, codes
    runs = store.runs_for_workflow(API, "wf")
    assert len(runs) == 81
    assert len({r.run_id for r in runs}) == len({r.seq for r in runs}) == 81
    store.create_run(API, "wf", 2, {}, _name)  # the parent's connection still works


def test_prune_drops_old_runs_and_keeps_the_newest_per_api(store: LiveStore) -> None:
    for started in range(10):
        run = store.create_run(API, "wf", started, {}, _name)
        store.record_cancel(run.run_id, started)
        store.record_response(run.run_id, 0, answer("a", started))
        store.create_run("arcee", "wf", started, {}, lambda seq: f"arcee-{seq}")
    store.anchor("static-1", 0, 1)
    store.record_response("static-1", 0, answer("a", 1))
    store.anchor("static-2", 0, 8)
    store.claim("old", 1)
    store.claim("new", 8)
    deleted = store.prune(cutoff_us=3, keep=5)
    assert deleted == 10
    kept = [run.started_us for run in store.runs_for_workflow(API, "wf")]
    assert kept == [9, 8, 7, 6, 5]
    assert [r.started_us for r in store.runs_for_workflow("arcee", "wf")] == [9, 8, 7, 6, 5]
    assert store.get_run("run-1") is None
    events = store.events("run-1")
    assert (events.cancelled_us, events.responses) == (None, {})
    assert store.events("run-19").cancelled_us == 9  # a kept run keeps its events
    assert store.get_anchor("static-1") is None
    assert store.events("static-1").responses == {}
    assert store.get_anchor("static-2") is not None
    assert store.claim("old", 9) is True  # the expired claim was forgotten
    assert store.claim("new", 9) is False
    assert store.prune(cutoff_us=3, keep=5) == 0


def _script(store: LiveStore) -> list[Any]:
    """Every operation, including the repeated and conflicting ones, with what each returned."""
    seen: list[Any] = []
    a = store.create_run(API, "wf", 100, {"inputs": {"x": 1}}, _name)
    b = store.create_run(API, "wf", 100, {}, _name)
    seen += [a, b, store.runs_for_workflow(API, "wf")]
    for n, position in enumerate((1, 1, 2, 1)):
        seen.append(store.record_response(a.run_id, position, answer(f"u{n}", 200 + n, n=n)))
        seen.append(store.events(a.run_id))
    seen += [store.record_cancel(b.run_id, 300), store.record_cancel(b.run_id, 301)]
    seen += [store.events(b.run_id), store.events("never")]
    seen += [store.anchor("s", 1, 2), store.anchor("s", 3, 4), store.get_anchor("s")]
    seen += [store.record_response("s", 0, answer("v", 5)), store.events("s")]
    if hasattr(SqliteStore, "replace_input"):  # Kibana's last-answer-wins resume (branch kmock)
        replace = store.replace_input  # type: ignore[attr-defined]
        seen += [replace(a.run_id, 1, {"last": True}), replace(a.run_id, 9, {})]
        seen.append(store.events(a.run_id))
    seen += [store.claim("k", 1), store.claim("k", 2), store.get_anchor("none")]
    seen += [store.prune(cutoff_us=101, keep=1), store.runs_for_workflow(API, "wf")]
    seen += [store.get_run(a.run_id), store.get_run(b.run_id), store.events(a.run_id)]
    return seen


def test_redis_answers_as_sqlite_does(tmp_path: Path, redis_server: RedisServer) -> None:
    reference = _script(SqliteStore(str(tmp_path / "reference.sqlite3")))
    assert _script(_redis_store(redis_server)) == reference


# -- Redis only ------------------------------------------------------------------------------


def test_redis_keys_carry_a_ttl_and_the_namespace(redis_server: RedisServer) -> None:
    store = _redis_store(redis_server, seed=7, prefix="ns-test")
    run = store.create_run(API, "wf", 1, {}, _name)
    store.record_response(run.run_id, 0, answer("a", 1))
    store.anchor("static", 1, 2)
    store.claim("slot", 1)
    client = redis_server.client()
    keys = sorted(key.decode() for key in client.keys("ns-test:7:*"))
    assert keys == [
        "ns-test:7:anchor:static",
        "ns-test:7:anchors",
        "ns-test:7:apis",
        "ns-test:7:claim:slot",
        "ns-test:7:claims",
        "ns-test:7:kibana:runs",
        "ns-test:7:kibana:wf:wf",
        "ns-test:7:responses:run-1",
        "ns-test:7:run:run-1",
        "ns-test:7:seq",
    ]
    for key in ("run:run-1", "responses:run-1", "anchor:static", "claim:slot"):
        assert 0 < client.pttl(f"ns-test:7:{key}") <= TTL_S * 1000
    other_seed = _redis_store(redis_server, seed=8, prefix="ns-test")
    assert other_seed.get_run(run.run_id) is None
    assert other_seed.create_run(API, "wf", 1, {}, _name).seq == 1  # a world of its own


def test_replacing_the_input_of_a_recorded_answer_keeps_who_and_when(
    redis_server: RedisServer,
) -> None:
    store = _redis_store(redis_server)
    run = store.create_run(API, "wf", 1, {}, _name)
    assert store.replace_input(run.run_id, 0, {"late": True}) is False  # nothing recorded yet
    assert store.events(run.run_id).responses == {}
    assert store.record_response(run.run_id, 0, answer("ann", 10, approved=True)) is True
    assert store.replace_input(run.run_id, 0, {"approved": False, "comment": "no"}) is True
    assert store.replace_input(run.run_id, 0, {"approved": True, "comment": "last"}) is True
    assert store.events(run.run_id).responses == {
        0: answer("ann", 10, approved=True, comment="last")
    }


def test_a_run_whose_key_expired_is_no_longer_listed(redis_server: RedisServer) -> None:
    store = _redis_store(redis_server)
    kept, gone = (store.create_run(API, "wf", t, {}, _name) for t in (1, 2))
    redis_server.client().delete(store.key("run", gone.run_id))  # what the TTL does
    assert store.runs_for_workflow(API, "wf") == [kept]
    assert store.get_run(gone.run_id) is None


def test_an_unreachable_redis_is_store_unavailable_and_service_resumes(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match=r"redis://:\*\*\*@127\.0\.0\.1"):
        RedisStore(f"redis://:secret@127.0.0.1:{free_port()}/0", seed=0, ttl_s=TTL_S)
    server = start_redis(tmp_path / "redis")
    try:
        store = _redis_store(server)
        run = store.create_run(API, "wf", 1, {}, _name)
        server.stop(save=True)
        for operation in (
            lambda: store.get_run(run.run_id),
            lambda: store.record_response(run.run_id, 0, answer("a", 1)),
            lambda: store.create_run(API, "wf", 2, {}, _name),
            lambda: store.claim("slot", 1),
        ):
            with pytest.raises(StoreUnavailable):
                operation()
        server = server.restart()
        assert store.get_run(run.run_id) == run
        assert store.record_response(run.run_id, 0, answer("a", 1)) is True
    finally:
        server.stop()
