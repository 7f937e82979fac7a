"""The import rules of ARCHITECTURE.md, checked in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE_MODULES = [
    "conformance",
    "conformance.errors",
    "conformance._specs",
    "conformance._validation",
    "conformance._bundle",
    "conformance.findings",
    "conformance.checks",
    "conformance.runner",
    "conformance._client",
    "conformance._discovery",
    "conformance._operations",
    "conformance.har",
    "conformance._traffic",
    "conformance._passive",
    "conformance._drift",
]
FORBIDDEN_IN_CORE = (
    "flask", "mock_server", "schemathesis", "requests", "werkzeug", "gunicorn", "httpx",
)  # fmt: skip


def _modules_after_import(*names: str) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(names)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(result.stdout))


def test_core_imports_none_of_the_heavy_or_upper_layers() -> None:
    loaded = _modules_after_import(*CORE_MODULES)
    leaked = sorted(
        name
        for name in loaded
        for top in FORBIDDEN_IN_CORE
        if name == top or name.startswith(f"{top}.")
    )
    assert not leaked, f"importing the conformance core loaded {leaked[:10]}"


def test_pytest_plugin_is_cheap_to_import() -> None:
    loaded = _modules_after_import("conformance.pytest_plugin")
    assert not {"flask", "mock_server", "schemathesis", "requests"} & loaded


def test_cli_commands_import_the_servers_only_when_run() -> None:
    loaded = _modules_after_import("conformance.cli", "conformance._cli_proxy")
    assert not {"mock_server", "mock_server.proxy", "httpx", "gunicorn", "flask"} & loaded
    loaded = _modules_after_import("mock_server._cli")
    assert not {"mock_server._app", "mock_server.proxy", "httpx", "gunicorn", "flask"} & loaded


def test_the_proxy_builds_on_the_conformance_core_and_the_mock() -> None:
    loaded = _modules_after_import("mock_server.proxy")
    assert {"conformance._passive", "conformance.har", "mock_server._hosts", "httpx"} <= loaded
    assert "schemathesis" not in loaded


@pytest.mark.parametrize("leaf", ["conformance.cli", "conformance.pytest_plugin"])
def test_leaves_are_imported_by_nothing(leaf: str) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    importers = [
        str(path.relative_to(root))
        for package in ("conformance", "mock_server")
        for path in (root / package).rglob("*.py")
        if f"import {leaf}" in path.read_text() or f"from {leaf} import" in path.read_text()
    ]
    assert not importers, f"{leaf} must be a leaf, imported by {importers}"


def test_conformance_never_imports_mock_server_at_module_level() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "conformance"
    offenders = [
        str(path.name)
        for path in root.rglob("*.py")
        for line in path.read_text().splitlines()
        if line.startswith(("import mock_server", "from mock_server"))
    ]
    assert not offenders, f"conformance modules import mock_server at top level: {offenders}"


def test_coverage_imports_neither_the_app_nor_the_viewer() -> None:
    """``mock_server.coverage`` is handed what it needs by ``create_app``: no circle through
    ``_app`` or the viewer blueprint (which imports coverage)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "mock_server" / "coverage"
    imported = {
        f"{path.name}: {node.module}"
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module
        if node.module.startswith(("mock_server._app", "mock_server._state", "mock_server.viewer"))
    }
    assert not imported, f"mock_server.coverage imports upward: {sorted(imported)}"
