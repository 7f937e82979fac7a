"""``stepspec validate`` and ``stepspec spec``: exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import stepspec

SEED = (
    resources.files("conformance.fixtures")
    / "kibana"
    / "step-execution"
    / "valid"
    / "seed-console-step.json"
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_accepts_a_valid_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(SEED.read_text())
    result = runner.invoke(
        stepspec, ["validate", "--schema", "urn:stepspec:kibana:step-execution", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "valid against" in result.output


def test_validate_reports_each_error_with_path_expected_found(
    runner: CliRunner, tmp_path: Path
) -> None:
    step = json.loads(SEED.read_text())
    step["status"] = "finished"
    del step["stepId"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(step))
    result = runner.invoke(
        stepspec, ["validate", "--schema", "urn:stepspec:kibana:step-execution", str(path)]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any("$.status: expected one of" in line and '"finished"' in line for line in lines)
    assert any(
        "$: expected required properties" in line and 'missing ["stepId"]' in line for line in lines
    )


def test_validate_unknown_schema_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text("{}")
    result = runner.invoke(
        stepspec, ["validate", "--schema", "urn:stepspec:kibana:nope", str(path)]
    )
    assert result.exit_code == 2
    assert "urn:stepspec:kibana:<name>" in result.output
    assert "step-execution" in result.output


def test_validate_non_json_is_invalid(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "text.json"
    path.write_text("not json")
    result = runner.invoke(stepspec, ["validate", "--schema", "urn:stepspec:arcee:step", str(path)])
    assert result.exit_code == 1
    assert "not JSON" in result.output
    assert "YAML" not in result.output  # plain text is not taken for YAML


@pytest.mark.parametrize(
    ("name", "text"),
    [("step.yaml", "id: step-1\nstatus: completed\n"), ("step.txt", "- id: step-1\n")],
)
def test_validate_says_it_reads_json_only_on_yaml(
    runner: CliRunner, tmp_path: Path, name: str, text: str
) -> None:
    """Walkthrough row 45: a YAML file got a bare JSON decoder message."""
    path = tmp_path / name
    path.write_text(text)
    result = runner.invoke(stepspec, ["validate", "--schema", "arcee:step", str(path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "not JSON" in result.output
    assert "reads JSON only; convert the YAML to JSON first" in result.output


def test_spec_list_json_is_the_listing_for_scripts(runner: CliRunner) -> None:
    """Walkthrough row 8: `spec list` had no machine-readable form."""
    result = runner.invoke(stepspec, ["spec", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert set(listing["apis"]) == {"kibana", "arcee", "trigify"}
    kibana = listing["apis"]["kibana"]
    steps = {op["operationId"]: op for op in kibana["operations"]}["getStepExecution"]
    assert steps["method"] == "GET"
    assert steps["responses"]["200"] == "urn:stepspec:kibana:step-execution"
    assert "urn:stepspec:kibana:step-execution" in kibana["schemas"]
    assert "sources" not in kibana
    assert "checks" not in listing


def test_spec_list_json_with_sources(runner: CliRunner) -> None:
    result = runner.invoke(
        stepspec, ["spec", "list", "--api", "arcee", "--format", "json", "--sources"]
    )
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert list(listing["apis"]) == ["arcee"]
    sources = listing["apis"]["arcee"]["sources"]
    assert sources
    assert all(rule["source"] for rule in sources)
    assert any(rule["inferred"] for rule in sources)
    assert "body_parses" in listing["checks"]


def test_spec_list_names_apis_operations_and_schemas(runner: CliRunner) -> None:
    result = runner.invoke(stepspec, ["spec", "list"])
    assert result.exit_code == 0, result.output
    for text in (
        "kibana",
        "arcee",
        "trigify",
        "getStepExecution",
        "getRunSteps",
        "getWorkflowExecution",
        "urn:stepspec:trigify:execution",
    ):
        assert text in result.output


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_spec_export_writes_a_bundled_document(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"kibana.{fmt}"
    result = runner.invoke(
        stepspec, ["spec", "export", "--api", "kibana", "--format", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text()) if fmt == "json" else yaml.safe_load(out.read_text())
    assert document["openapi"].startswith("3.1")
    assert "StepExecution" in document["components"]["schemas"]


def test_unknown_api_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(stepspec, ["spec", "export", "--api", "jenkins"])
    assert result.exit_code == 2


def test_spec_export_takes_the_format_from_the_output_extension(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Walkthrough row 10: ``-o arcee.json`` wrote YAML."""
    out = tmp_path / "arcee.json"
    result = runner.invoke(stepspec, ["spec", "export", "--api", "arcee", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["openapi"].startswith("3.1")
    yml = tmp_path / "arcee.yml"
    assert (
        runner.invoke(stepspec, ["spec", "export", "--api", "arcee", "-o", str(yml)]).exit_code == 0
    )
    assert not yml.read_text().lstrip().startswith("{")


def test_validate_speaks_json_types(runner: CliRunner, tmp_path: Path) -> None:
    """Walkthrough row 11: ``found dict {}``, ``found str 'false'``, ``found int 7``."""
    step = json.loads(SEED.read_text())
    step["stepId"] = 7
    step["input"] = "false"
    path = tmp_path / "types.json"
    path.write_text(json.dumps(step))
    result = runner.invoke(stepspec, ["validate", "--schema", "kibana:step-execution", str(path)])
    assert result.exit_code == 1
    assert "found integer 7" in result.output
    for python_name in ("found int ", "found str ", "found dict ", "found NoneType"):
        assert python_name not in result.output


@pytest.mark.parametrize("name", ["step-execution", "kibana:step-execution"])
def test_validate_accepts_a_unique_short_schema_name(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "ok.json"
    path.write_text(SEED.read_text())
    result = runner.invoke(stepspec, ["validate", "--schema", name, str(path)])
    assert result.exit_code == 0, result.output
    assert "valid against urn:stepspec:kibana:step-execution" in result.output


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("step-exec", "did you mean urn:stepspec:kibana:step-execution"),
        (
            "execution",
            "is ambiguous: urn:stepspec:kibana:execution, urn:stepspec:trigify:execution",
        ),
    ],
)
def test_validate_suggests_on_one_line(name: str, said: str, tmp_path: Path) -> None:
    """Walkthrough row 13: a 53-line dump of every schema id."""
    path = tmp_path / "ok.json"
    path.write_text("{}")
    result = subprocess.run(
        [sys.executable, "-c", "from conformance.cli import main; main()", "validate",
         "--schema", name, str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert said in lines[0]
