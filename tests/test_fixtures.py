"""Fixtures: every valid one validates, every invalid one fails for the rule its name gives,
and the vendors' documented examples are kept verbatim."""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest

from conformance import _specs
from conformance._validation import validator


def _fixture_files(kind: str) -> list[tuple[str, Traversable]]:
    found = []
    root = resources.files("conformance.fixtures")
    for api in _specs.APIS:
        api_dir = root / api
        for schema_dir in sorted(api_dir.iterdir(), key=lambda e: e.name):
            folder = schema_dir / kind
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".json"):
                    found.append((_specs.schema_id(api, schema_dir.name), entry))
    return found


VALID = _fixture_files("valid")
INVALID = _fixture_files("invalid")


def _ids(pairs: list[tuple[str, Traversable]]) -> list[str]:
    return [f"{sid.split(':', 2)[2]}/{entry.name}" for sid, entry in pairs]


def test_every_schema_with_fixtures_exists() -> None:
    for sid, entry in VALID + INVALID:
        assert sid in _specs.schema_ids(), f"fixture {entry} names unknown schema {sid}"


@pytest.mark.parametrize("api", _specs.APIS)
def test_each_api_has_valid_and_invalid_fixtures(api: str) -> None:
    assert any(sid.startswith(f"urn:stepspec:{api}:") for sid, _ in VALID)
    assert any(sid.startswith(f"urn:stepspec:{api}:") for sid, _ in INVALID)


@pytest.mark.parametrize(("schema_id", "entry"), VALID, ids=_ids(VALID))
def test_valid_fixture_validates(schema_id: str, entry: Traversable) -> None:
    payload = json.loads(entry.read_text(encoding="utf-8"))
    assert validator(schema_id).violations(payload) == []


@pytest.mark.parametrize(("schema_id", "entry"), INVALID, ids=_ids(INVALID))
def test_invalid_fixture_fails_for_its_named_rule(schema_id: str, entry: Traversable) -> None:
    keyword = entry.name.split("--", 1)[0]
    assert "--" in entry.name, f"{entry.name}: name must be <keyword>--<what>.json"
    payload = json.loads(entry.read_text(encoding="utf-8"))
    violations = validator(schema_id).violations(payload)
    assert violations, f"{entry.name} is accepted by {schema_id}"
    assert {v.keyword for v in violations} == {keyword}, [str(v) for v in violations]


# --- the vendors' documented examples, byte-for-byte -------------------------------------------


def _seeds_dir() -> Path | None:
    configured = os.environ.get("STEPSPEC_SEEDS_DIR")
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "seeds")
    return next((path for path in candidates if path.is_dir()), None)


SEEDS = _seeds_dir()
needs_seeds = pytest.mark.skipif(
    SEEDS is None, reason="vendor seed documents not found (set STEPSPEC_SEEDS_DIR)"
)


def _fixture_text(api: str, schema: str, name: str) -> str:
    entry = resources.files("conformance.fixtures") / api / schema / "valid" / name
    return entry.read_text(encoding="utf-8")


def _seed(prefix: str) -> str:
    assert SEEDS is not None
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


@needs_seeds
def test_kibana_seed_examples_are_fixtures_verbatim() -> None:
    blocks = re.findall(r"^\{\n.*?^\}$", _seed("000"), flags=re.S | re.M)
    assert len(blocks) == 2
    names = ("seed-console-step.json", "seed-hitl-step.json")
    for block, name in zip(blocks, names, strict=True):
        text = _fixture_text("kibana", "step-execution", name)
        assert text.strip() == block.strip()


@needs_seeds
def test_arcee_seed_example_is_a_fixture_verbatim() -> None:
    seed = _seed("002")
    example = seed.split("<summary>Execution Steps Response Example</summary>", 1)[1]
    block = re.search(r"```\n(\[\n.*?\n\])\n```", example, flags=re.S)
    assert block is not None
    text = _fixture_text("arcee", "step-list", "seed-model-then-slack.json")
    assert text.strip() == block.group(1).strip()
    assert json.loads(text) == json.loads(block.group(1))
