"""A wheel built from the repo carries the specs and fixtures and works outside the repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("stepspec-*.whl")
    return built


def test_wheel_contains_every_package_specs_and_fixtures(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for api in ("kibana", "arcee", "trigify"):
        assert f"conformance/specs/{api}/openapi.yaml" in names
        assert any(
            n.startswith(f"conformance/fixtures/{api}/") and n.endswith(".json") for n in names
        )
    source_packages = {
        str(path.parent.relative_to(ROOT))
        for top in ("conformance", "mock_server")
        for path in (ROOT / top).rglob("__init__.py")
    }
    for package in source_packages:
        assert f"{package}/__init__.py" in names, f"{package} missing: list it in pyproject.toml"
    assert "conformance/py.typed" in names


def test_validate_works_from_the_wheel_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    payload = tmp_path / "step.json"
    payload.write_text(json.dumps({"id": "x"}))
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [sys.executable, "-c", "import conformance, sys; print(conformance.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(target)), probe.stdout
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from conformance.cli import main; main()",
            "validate",
            "--schema",
            "urn:stepspec:kibana:step-execution",
            str(payload),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "$: expected required properties" in run.stdout
