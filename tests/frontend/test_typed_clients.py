"""TypeScript types generated from our bundled OpenAPI documents are usable by a frontend.

For each API: ``stepspec spec export`` writes the bundled document, ``openapi-typescript`` (npm,
pinned in ``typed_client/package.json`` and its lock file) generates types, and ``tsc --noEmit
--strict`` checks two small client files against them:

- ``<api>.ts`` reads a step's fields the way a frontend does: ids and timestamps as strings,
  statuses as closed unions (an exhaustive ``switch``), nullable fields that the type checker
  refuses to treat as non-null (``@ts-expect-error``), the error envelope;
- ``<api>-payloads.ts`` writes step fixtures with real ``input``/``output`` payloads, as a
  frontend's tests and stories do.

The npm packages are installed once into ``.stepspec/typed-client/<hash>`` (gitignored; set
``STEPSPEC_NODE_CACHE`` to put it elsewhere, e.g. a CI cache directory) and reused while
``package.json`` and the lock file are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "typed_client"
ROOT = Path(__file__).resolve().parents[2]
APIS = ("kibana", "arcee", "trigify")
TSC_OPTIONS = (
    "--noEmit", "--strict", "--target", "ES2022", "--module", "ES2022",
    "--moduleResolution", "bundler", "--lib", "ES2022,DOM",
)  # fmt: skip


def node_cache() -> Path:
    """Where the pinned npm packages live between runs."""
    configured = os.environ.get("STEPSPEC_NODE_CACHE")
    return Path(configured) if configured else ROOT / ".stepspec" / "typed-client"


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """``node_modules/.bin`` with the pinned ``openapi-typescript`` and ``tsc`` (npm ci once)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the typed-client test: install Node.js 20 and npm")
    manifest = [HERE / "package.json", HERE / "package-lock.json"]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in manifest)).hexdigest()[:12]
    target = node_cache() / digest
    binaries = target / "node_modules" / ".bin"
    stamp = target / ".installed"
    if not stamp.is_file():
        target.mkdir(parents=True, exist_ok=True)
        for path in manifest:
            shutil.copy(path, target / path.name)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--cache", str(node_cache() / "npm-cache")],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
        stamp.write_text(digest)
    return binaries


@pytest.fixture(scope="session")
def generated(node_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``generated/<api>.ts`` for every API, and the client files beside it."""
    work = tmp_path_factory.mktemp("typed-client")
    (work / "generated").mkdir()
    stepspec = Path(sys.executable).with_name("stepspec")
    for api in APIS:
        document = work / f"{api}.json"
        subprocess.run(
            [
                str(stepspec),
                "spec",
                "export",
                "--api",
                api,
                "--format",
                "json",
                "-o",
                str(document),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        result = subprocess.run(
            [str(node_tools / "openapi-typescript"), str(document), "-o", f"generated/{api}.ts"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"openapi-typescript {api}:\n{result.stderr}"
    for client in HERE.glob("*.ts"):
        shutil.copy(client, work / client.name)
    return work


@pytest.fixture(scope="session")
def diagnostics(node_tools: Path, generated: Path) -> dict[str, list[str]]:
    """``tsc --noEmit --strict`` once over every client file: its errors, by file."""
    clients = sorted(path.name for path in generated.glob("*.ts"))
    result = subprocess.run(
        [str(node_tools / "tsc"), *TSC_OPTIONS, "--pretty", "false", *clients],
        cwd=generated,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in result.stdout.splitlines():
        located = re.match(r"(\S+?\.ts)\(\d+,\d+\): error TS\d+", line)
        if located:
            current = found.setdefault(located.group(1), [])
            current.append(line)
        elif current is not None and line.startswith(" "):
            current[-1] += "\n" + line
    assert result.returncode == 0 or found, f"tsc failed without diagnostics:\n{result.stdout}"
    return found


def check(diagnostics: dict[str, list[str]], name: str) -> None:
    """Fail, quoting tsc, if ``<name>.ts`` (or the types it imports) did not type-check."""
    api = name.split("-", 1)[0]
    errors = diagnostics.get(f"{name}.ts", []) + diagnostics.get(f"generated/{api}.ts", [])
    if not errors:
        return
    message = f"tsc --strict rejected {name}.ts:\n" + "\n".join(errors)
    raise AssertionError(message)


@pytest.mark.parametrize("name", [name for api in APIS for name in (api, f"{api}-payloads")])
def test_client_type_checks_against_generated_types(
    diagnostics: dict[str, list[str]], name: str
) -> None:
    check(diagnostics, name)


@pytest.mark.parametrize("api", APIS)
def test_no_component_is_generated_as_unknown(generated: Path, api: str) -> None:
    # A schema openapi-typescript cannot read comes out as `Name: unknown;`: nothing to type.
    text = (generated / "generated" / f"{api}.ts").read_text()
    start = text.index("\n    schemas: {\n")
    schemas = text[start : text.index("\n    };\n", start)]
    assert not re.findall(r"^        (\w+): unknown;$", schemas, re.MULTILINE)
    step = {"kibana": "StepExecution", "arcee": "Step", "trigify": "Step"}[api]
    assert re.search(rf"^        {step}: \(?\{{$", schemas, re.MULTILINE), f"no {step} object type"
