"""The README is executable: every shell block in it runs here, and every command exits as the
README says.

Which blocks: every fenced block whose info string is ``sh``, ``bash`` or ``console``, in order,
one test each (``test_readme_block[README.md:<line>]``). ``yaml`` and other blocks are not run.

**Annotations** (for anyone adding a README section; the test fails on an annotation it does not
know, so a typo cannot silently skip a block):

- ``<!-- readme-test: skip because REASON -->`` on the last non-blank line before a block's
  opening fence: the block is not run and pytest reports it skipped with REASON. Only for what
  cannot run on a developer's machine (a staging server, a paid account), never to hide a
  failure.
- ``# exit: N`` as a comment at the end of a command (its last line): the command must exit
  with N; without it, with 0. Example: ``stepspec validate --schema … bad.json   # exit: 1``.
- In ``console`` blocks a command starts with ``$ `` (continued by lines ending in ``\\``);
  the other lines are output and are not compared.
- A ``python`` block whose first line is ``# <relative path>`` (``# tests/test_api_contract.py``)
  is written to that path in the work directory, so a later shell block can use it.

**How a block runs:**

- In one temporary work directory for the whole README (a file one block writes is there for the
  next), with this environment's ``bin`` first on ``PATH``, no ``STEPSPEC_*`` variables, and the
  files of ``PROVIDED_FILES`` that the README names without creating them.
- A ``stepspec mock …`` command starts that mock in the background on a free port (its
  ``--port`` replaced or added), waits until it answers, and ``127.0.0.1:8080`` (or
  ``localhost:8080``) in the block's later commands means that port; it is stopped at the end of
  the block. Elsewhere ``8080`` means the session's mock, started once the way ``make mock``
  starts it (seed 0).
- ``make`` targets either stand for something already running (``REPLACED_COMMANDS``) or are not
  run, with the reason (``SKIPPED_COMMANDS``); any other ``make`` target is an error until it is
  added to one of them.
- Every other command runs in ``bash`` with ``pipefail``, and ``curl`` fails on an HTTP error
  (``--fail-with-body``), so a 4xx the README does not promise fails the test (a promised one is
  ``# exit: 22``). After each command its exit code is compared with the expected one; the first
  difference ends the block with the command's line, its exit code and its output.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL_LANGUAGES = frozenset({"sh", "bash", "console"})
DOCUMENTED_PORT = 8080
BIN = Path(sys.executable).parent

SKIPPED_COMMANDS: dict[str, str] = {
    "make test": "runs ruff, mypy and the whole pytest suite, this test included (it would run "
    "itself); CI runs exactly that command",
    "make dist": "builds the sdist and the wheel: tests/test_packaging.py runs `make dist` and "
    "installs the wheel it builds",
}
"""Commands the README shows that this test does not run, and why."""

REPLACED_COMMANDS: dict[str, str] = {
    "make mock": "the session's mock stands for it: `stepspec mock --host 127.0.0.1 --port "
    "<free> --seed 0`, the command `make mock` runs once the venv exists",
}
"""Commands that start something this test has already started."""

PROVIDED_FILES: dict[str, str] = {
    "step.json": "fixtures/kibana/step-execution/valid/seed-console-step.json",
}
"""Files the README's commands read without creating them: work-directory name -> source."""

_FENCE = re.compile(r"^```([\w-]*)\s*$")
_ANNOTATION = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->$")
_SKIP = re.compile(r"^skip because (\S.*)$")
_EXIT = re.compile(r"#\s*exit:\s*(\d+)\s*$")
_PORT = re.compile(rf"\b(?:127\.0\.0\.1|localhost):{DOCUMENTED_PORT}\b")
_CONTINUES = ("\\", "|", "&&", "||")
_FAILED = 97
"""The script's exit code when a command did not exit as documented."""


@dataclass(frozen=True)
class Command:
    """One shell command of a block (continuation lines joined as they are written)."""

    line: int
    text: str
    expected_exit: int

    @property
    def words(self) -> list[str]:
        """The command's words, its comments dropped."""
        return shlex.split(self.text.replace("\\\n", " "), comments=True)


@dataclass(frozen=True)
class Block:
    """A fenced shell block of the README."""

    line: int
    language: str
    commands: tuple[Command, ...]
    skip: str | None


def parse_blocks(text: str) -> list[Block]:
    """The shell blocks of a Markdown document, with their commands and annotations."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        language, start = opened.group(1), index
        index += 1
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        if language in SHELL_LANGUAGES:
            skip = _annotation(lines, start)
            commands = _commands(body, start + 2, console=language == "console")
            blocks.append(Block(start + 1, language, tuple(commands), skip))
    return blocks


def python_files(text: str) -> dict[str, str]:
    """``python`` blocks that name their file on their first line: path -> content."""
    found: dict[str, str] = {}
    for match in re.finditer(r"^```python\n# ([\w./-]+\.py)\n(.*?)^```$", text, re.M | re.S):
        found[match.group(1)] = match.group(2)
    return found


def _annotation(lines: list[str], fence: int) -> str | None:
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0:
        return None
    annotation = _ANNOTATION.match(lines[before].strip())
    if annotation is None:
        return None
    skip = _SKIP.match(annotation.group(1))
    if skip is None:
        raise ValueError(
            f"README.md:{before + 1}: unknown readme-test annotation {annotation.group(1)!r}; "
            "known: 'skip because <reason>' (see tests/test_readme.py)"
        )
    return skip.group(1)


def _commands(body: list[str], first_line: int, *, console: bool) -> list[Command]:
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    depth = 0
    for offset, raw in enumerate(body):
        line = raw
        if not pending:
            if console:
                if not line.startswith("$ "):
                    continue  # output
                line = line[2:]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = first_line + offset
        elif console:
            line = line.removeprefix("> ")
        pending.append(line)
        depth += line.count("(") - line.count(")")
        if depth > 0 or line.rstrip().endswith(_CONTINUES):
            continue
        text = "\n".join(pending)
        expected = _EXIT.search(pending[-1])
        commands.append(Command(start, text, int(expected.group(1)) if expected else 0))
        pending, depth = [], 0
    if pending:
        raise ValueError(f"README.md:{start}: a command is not finished at the end of its block")
    return commands


# ---- running -------------------------------------------------------------------------------


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Mock:
    """A ``stepspec mock`` this test started."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        """Ctrl-C, as a user would; the process group is killed if it does not stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def start_mock(arguments: list[str], workdir: Path) -> Mock:
    """``stepspec mock ARGUMENTS`` on a free port, once it answers."""
    kept: list[str] = []
    skip_next = False
    for word in arguments:
        if skip_next:
            skip_next = False
        elif word == "--port":
            skip_next = True
        elif not word.startswith("--port="):
            kept.append(word)
    port = free_port()
    log = workdir / f"mock-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "stepspec"), "mock", *kept, "--port", str(port)],
            cwd=workdir,
            env=clean_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    mock = Mock(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"stepspec mock {shlex.join(kept)} exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/_stepspec/meta", timeout=2).ok:
                return mock
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    mock.stop()
    pytest.fail(f"stepspec mock {shlex.join(kept)} did not answer within 60 s")


def clean_env() -> dict[str, str]:
    """A newcomer's environment: this venv's bin first on PATH, no STEPSPEC_* settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("STEPSPEC_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


_PRELUDE = """set -o pipefail
curl() { command curl --fail-with-body "$@"; }
"""


def run_commands(commands: list[Command], port: int, workdir: Path) -> None:
    """Run ``commands`` as one bash script (shell variables carry over) and fail on the first
    command that does not exit as documented."""
    if not commands:
        return
    script = [_PRELUDE]
    for command in commands:
        script.append(_PORT.sub(f"127.0.0.1:{port}", command.text))
        script.append(
            f'__rc=$?; if [ "$__rc" -ne {command.expected_exit} ]; then '
            f'echo "README.md:{command.line}: exit $__rc, expected {command.expected_exit}" >&2; '
            f"exit {_FAILED}; fi"
        )
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (
        f"{done.stderr[-3000:]}\n--- stdout ---\n{done.stdout[-3000:]}\n--- script ---\n"
        + "\n".join(script)
    )


# ---- the tests -------------------------------------------------------------------------------

BLOCKS = parse_blocks(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's working directory: provided files and the README's named Python files."""
    where = tmp_path_factory.mktemp("readme")
    for name, source in PROVIDED_FILES.items():
        shutil.copyfile(ROOT / source, where / name)
    for name, content in python_files(README.read_text(encoding="utf-8")).items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(content, encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def session_mock(workdir: Path) -> Iterator[Mock]:
    """The mock that ``make mock`` would serve on 8080."""
    mock = start_mock(["--host", "127.0.0.1", "--seed", "0"], workdir)
    try:
        yield mock
    finally:
        mock.stop()


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: f"README.md:{block.line}")
def test_readme_block(block: Block, workdir: Path, session_mock: Mock) -> None:
    if block.skip is not None:
        pytest.skip(block.skip)
    port = session_mock.port
    started: list[Mock] = []
    pending: list[Command] = []
    try:
        for command in block.commands:
            words = command.words
            joined = " ".join(words[:2])
            if joined in SKIPPED_COMMANDS:
                continue
            if joined in REPLACED_COMMANDS:
                assert session_mock.process.poll() is None, "the session's mock has stopped"
                continue
            assert words[:1] != ["make"], (
                f"README.md:{command.line}: {joined!r} is in neither SKIPPED_COMMANDS nor "
                "REPLACED_COMMANDS of tests/test_readme.py: add it to one, with its reason"
            )
            if words[:2] == ["stepspec", "mock"]:
                run_commands(pending, port, workdir)
                pending = []
                started.append(start_mock(words[2:], workdir))
                port = started[-1].port
            else:
                pending.append(command)
        run_commands(pending, port, workdir)
    finally:
        for mock in started:
            mock.stop()


def test_every_shell_block_is_found() -> None:
    """The README has shell blocks and each has commands (a parser that finds none proves
    nothing)."""
    assert len(BLOCKS) >= 5
    for block in BLOCKS:
        assert block.commands, f"README.md:{block.line}: no command found"
    assert any(block.skip for block in BLOCKS)


# ---- the annotation convention, on made-up documents ----------------------------------------

SAMPLE = """# A section

```sh
stepspec spec list
stepspec validate --schema urn:x bad.json   # exit: 1
curl -s -H 'A: b' \\
     http://127.0.0.1:8080/x |
     python3 -c 'print(1)'
VALUE=$(echo a |
     tr a b)
```

<!-- readme-test: skip because it needs a staging server -->

```bash
stepspec check --base-url "$URL"
```

```console
$ stepspec check --list
auth_missing ...
$ false   # exit: 1
```

```yaml
- run: pip install x
```
"""


def test_blocks_commands_exit_codes_and_skips_are_parsed() -> None:
    first, second, third = parse_blocks(SAMPLE)
    assert [(c.line, c.expected_exit) for c in first.commands] == [(4, 0), (5, 1), (6, 0), (9, 0)]
    assert first.commands[2].text.count("\n") == 2
    assert first.skip is None
    assert second.skip == "it needs a staging server"
    assert second.language == "bash"
    assert [c.text for c in third.commands] == ["stepspec check --list", "false   # exit: 1"]
    assert [c.expected_exit for c in third.commands] == [0, 1]


def test_an_unknown_annotation_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(ValueError, match="unknown readme-test annotation 'skip: later'"):
        parse_blocks("<!-- readme-test: skip: later -->\n```sh\nfalse\n```\n")


def test_a_command_that_exits_otherwise_than_documented_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"README.md:7: exit 1, expected 0"):
        run_commands([Command(7, "false", 0)], DOCUMENTED_PORT, tmp_path)
    run_commands([Command(7, "false   # exit: 1", 1)], DOCUMENTED_PORT, tmp_path)


def test_curl_fails_on_an_http_error(tmp_path: Path, session_mock: Mock) -> None:
    unknown = Command(3, "curl -s http://127.0.0.1:8080/api/workflows", 0)  # no key: 401
    with pytest.raises(AssertionError, match="exit 22, expected 0"):
        run_commands([unknown], session_mock.port, tmp_path)


def test_python_blocks_that_name_a_file_are_collected() -> None:
    text = "```python\n# tests/test_x.py\ndef test_x():\n    pass\n```\n```python\nx = 1\n```\n"
    assert python_files(text) == {"tests/test_x.py": "def test_x():\n    pass\n"}
