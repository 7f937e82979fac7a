"""Validation without HTTP: how fast the conformance kit judges step objects.

Three figures per API, all through ``conformance.validator(schema).violations`` (the kit's own
entry point, so the fast path and the explained slow path are what a user gets):

- valid step objects per second (the fast path answers);
- failing step objects per second (each mutated so one required property is missing: the fast
  path says no, then jsonschema explains every error on the strict and the lenient view);
- a 10,000-step execution checked end to end: the two ``size=5000`` pages of Kibana's steps
  endpoint, as bytes, parsed and validated against ``step-execution-list``.

The objects are the generation measure's payloads (real output of the mock), or, for an API the
generator cannot drive yet, the valid fixtures of its step schema.
"""

from __future__ import annotations

import copy
import gc
import json
import time
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import orjson

from benchmarks._report import Row

Json = Any
OBJECTS_TARGET_PER_S = 10_000
EXECUTION_TARGET_S = 1.0
STEP_SCHEMAS = {
    "kibana": "urn:stepspec:kibana:step-execution",
    "arcee": "urn:stepspec:arcee:step",
    "trigify": "urn:stepspec:trigify:step",
}


def fixture_steps(api: str) -> list[Json]:
    """The valid fixtures of ``api``'s step schema (a fallback corpus)."""
    name = STEP_SCHEMAS[api].rsplit(":", 1)[1]
    folder = files("conformance.fixtures").joinpath(api, name, "valid")
    return [
        json.loads(item.read_text())
        for item in sorted(folder.iterdir(), key=lambda p: p.name)
        if item.name.endswith(".json")
    ]


def mutated(objects: Sequence[Json], schema_id: str) -> list[Json]:
    """Copies of ``objects`` that each miss one required property (a different one in turn)."""
    from conformance import schema

    required = list(schema(schema_id).get("required", [])) or ["id"]
    broken = []
    for n, obj in enumerate(objects):
        if not isinstance(obj, dict):
            continue
        copied = copy.copy(obj)
        copied.pop(required[n % len(required)], None)
        broken.append(copied)
    return broken


def _rate(check: Any, objects: Sequence[Json], seconds: float) -> tuple[float, int, int]:
    """(objects per second, objects checked, objects with violations) over ``seconds``."""
    done = failing = 0
    gc.collect()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for obj in objects:
            if check(obj):
                failing += 1
        done += len(objects)
        if time.perf_counter() >= deadline:
            break
    return done / (time.perf_counter() - started), done, failing


def measure(api: str, objects: Sequence[Json], seconds: float, origin: str) -> list[Row]:
    """Rows for one API's step schema: valid and failing objects per second."""
    from conformance import validator

    schema_id = STEP_SCHEMAS[api]
    check = validator(schema_id).violations
    check(objects[0])  # compile outside the timing
    rate, done, failing = _rate(check, objects, seconds)
    rows = [
        Row(
            f"validation: {api} step objects (valid)",
            rate=rate,
            unit="obj/s",
            target=f">= {OBJECTS_TARGET_PER_S:,} obj/s",
            met=rate >= OBJECTS_TARGET_PER_S,
            note=f"{failing} of {done} objects FAILED the schema" if failing else "",
            details={
                "objects": done,
                "distinct": len(objects),
                "origin": origin,
                "failing": failing,
                "us_per_object": 1e6 / rate,
            },
        )
    ]
    broken = mutated(objects[:2000], schema_id)
    bad_rate, bad_done, bad_failing = _rate(check, broken, seconds / 2)
    rows.append(
        Row(
            f"validation: {api} step objects (failing, explained)",
            rate=bad_rate,
            unit="obj/s",
            note="" if bad_failing == bad_done else "some mutated objects passed",
            details={"objects": bad_done, "us_per_object": 1e6 / bad_rate},
        )
    )
    return rows


def execution_pages(steps: Sequence[Json], total: int = 10_000, size: int = 5000) -> list[bytes]:
    """Kibana ``steps?size=5000`` pages of a ``total``-step execution.

    ``steps`` is either such an execution's steps (used as they are) or a smaller sample,
    repeated with fresh ids to make up ``total`` distinct step executions.
    """
    complete = len(steps) >= total
    pages = []
    for page in range(total // size):
        results = []
        for n in range(page * size, (page + 1) * size):
            step = dict(steps[n % len(steps)])
            step.pop("input", None)  # the steps endpoint omits them (documented)
            step.pop("output", None)
            if not complete:
                step["id"] = f"step-{n:08x}-bench"
                step["globalExecutionIndex"] = n
            results.append(step)
        pages.append(
            orjson.dumps({"results": results, "total": total, "page": page + 1, "size": size})
        )
    return pages


def measure_execution(pages: Sequence[bytes], origin: str) -> Row:
    """Time to parse and validate every page of a 10,000-step Kibana execution."""
    from conformance import validator

    check = validator("urn:stepspec:kibana:step-execution-list").violations
    check({"results": [], "total": 0, "page": 1, "size": 1})
    times, problems = [], 0
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        problems = sum(len(check(orjson.loads(page))) for page in pages)
        times.append(time.perf_counter() - started)
    best = sorted(times)[1]
    return Row(
        "validation: kibana 10,000-step execution, end to end",
        rate=1 / best,
        unit="exec/s",
        p50_ms=best * 1000,
        target=f"<= {EXECUTION_TARGET_S:.0f} s",
        met=best <= EXECUTION_TARGET_S,
        note=f"{problems} violations found in the pages" if problems else "",
        details={"seconds_each_try": times, "bytes": sum(map(len, pages)), "origin": origin},
    )
