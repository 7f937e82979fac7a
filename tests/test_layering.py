"""The import rules of ARCHITECTURE.md, checked in fresh interpreters."""

from __future__ import annotations

import ast
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


FACTORY = "mock_server._app"
"""Filled by the app factory, read from ``mock_server._state``: nothing below imports it."""
BELOW_THE_FACTORY = ("kibana", "arcee", "trigify", "viewer")
"""The vendor packages and the viewer, under ``mock_server/``."""


def _imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, at any depth of the code.

    ``from package import name`` counts as importing ``package.name`` too (it may be a module);
    relative imports are resolved against ``module``.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from mock_server._app import state",
        "import mock_server._app",
        "from mock_server import _app",
        "def view():\n    from mock_server._app import checked_query\n",
        "from .._app import state",
    ],
)
def test_the_import_scan_sees_every_spelling_of_an_import(source: str) -> None:
    assert FACTORY in _imported_modules(source, "mock_server.kibana._routes")


def test_vendors_and_the_viewer_never_import_the_app_factory() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    checked, offenders = 0, []
    for package in BELOW_THE_FACTORY:
        for path in sorted((root / "mock_server" / package).rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            module = ".".join(relative.parts)  # ``pkg.__init__``: ``from . import x`` is ``pkg.x``
            checked += 1
            if FACTORY in _imported_modules(path.read_text(encoding="utf-8"), module):
                offenders.append(str(relative))
    assert checked > 20, f"only {checked} modules scanned: did the packages move?"
    assert not offenders, f"these modules import {FACTORY} (read mock_server._state): {offenders}"


@pytest.mark.parametrize("module", ["conformance._discovery", "conformance._context"])
def test_kit_level_modules_import_nothing_from_checks(module: str) -> None:
    """Discovery and the check context sit below ``checks/``: no import of it, typed or lazy."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    tree = ast.parse((root / Path(*module.split("."))).with_suffix(".py").read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    upward = [name for name in imported if name and name.startswith("conformance.checks")]
    assert not upward, f"{module} imports {upward}"
    assert not {
        name for name in _modules_after_import(module) if name.startswith("conformance.checks")
    }


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
