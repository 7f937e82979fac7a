"""``make dist`` builds an sdist and a wheel that carry the specs and fixtures, and the wheel
installs and works outside the repo (the README's CI recipe installs it: stepspec is on no
package index)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``make dist`` builds, into a temporary folder, with this interpreter's environment
    (``-o`` keeps make from reinstalling it)."""
    out = tmp_path_factory.mktemp("dist") / "dist"
    venv = Path(sys.prefix)
    built = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(ROOT),
            "-o",
            str(venv / ".installed-stamp"),
            "dist",
            f"VENV={venv}",
            f"DIST={out}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (built,) = dist.glob("stepspec-*-py3-none-any.whl")
    return built


def test_make_dist_builds_an_sdist_and_a_wheel(dist: Path) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert sorted(path.name for path in dist.iterdir()) == [
        f"stepspec-{version}-py3-none-any.whl",
        f"stepspec-{version}.tar.gz",
    ]


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
