"""Trigify ids: prefixed base-36 tokens (``wf_…``, ``run_…``, ``exec_…``) that decode in O(1).

The docs' examples use short prefixed ids (``wf_abc123``, ``run_x7k9m2``, ``exec_abc123``). Ours
carry a keyed Feistel token (``mock_server._ids.IdCodec``) written as 13 base-36 digits, so a
workflow or run id decodes to its indices and a made-up id is a 404. Execution log ids and saved
search ids are never looked up, so they are keyed hashes.
"""

from __future__ import annotations

import hashlib

from mock_server._ids import IdCodec

WORKFLOW_BITS = 20
RUN_BITS = 20
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_WIDTH = 13
"""36**13 > 2**64, so every 64-bit token fits in 13 digits."""


_PAIRS = tuple(high + low for high in _DIGITS for low in _DIGITS)
"""The 1,296 two-digit base-36 strings, so ``base36`` needs half as many divisions."""


def base36(value: int, width: int = _WIDTH) -> str:
    """``value`` as ``width`` lowercase base-36 digits (zero-padded; higher digits dropped)."""
    chunks = []
    for _ in range(width // 2):
        value, pair = divmod(value, 36 * 36)
        chunks.append(_PAIRS[pair])
    if width % 2:
        chunks.append(_DIGITS[value % 36])
    return "".join(reversed(chunks))


def parse_base36(text: str) -> int | None:
    """The integer behind ``base36`` output, or None if ``text`` is not 13 base-36 digits."""
    if len(text) != _WIDTH or any(c not in _DIGITS for c in text):
        return None
    value = int(text, 36)
    return value if value < 1 << 64 else None


class TrigifyIds:
    """The id scheme of one Trigify world (all ids differ between seeds)."""

    def __init__(self, seed: int) -> None:
        self._workflows = IdCodec(seed, "trigify.workflow", (WORKFLOW_BITS,))
        self._runs = IdCodec(seed, "trigify.run", (WORKFLOW_BITS, RUN_BITS))
        self._key = hashlib.blake2b(f"{seed}:trigify.hash".encode(), digest_size=16).digest()

    def _hash(self, text: str) -> int:
        digest = hashlib.blake2b(text.encode(), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "big")

    def workflow_id(self, index: int) -> str:
        """``wf_…`` for workflow ``index``."""
        return "wf_" + base36(self._workflows.encode(index))

    def workflow_index(self, text: str) -> int | None:
        """The index behind a workflow id, or None for an id this world never issued."""
        token = parse_base36(text[3:]) if text.startswith("wf_") else None
        decoded = None if token is None else self._workflows.decode(token)
        return None if decoded is None else decoded[0]

    def run_id(self, workflow: int, run: int) -> str:
        """``run_…`` for run ``run`` of workflow ``workflow``."""
        return "run_" + base36(self._runs.encode(workflow, run))

    def run_indices(self, text: str) -> tuple[int, int] | None:
        """``(workflow, run)`` behind a run id, or None for an id this world never issued."""
        token = parse_base36(text[4:]) if text.startswith("run_") else None
        decoded = None if token is None else self._runs.decode(token)
        return None if decoded is None else (decoded[0], decoded[1])

    def execution_id(self, run_id: str) -> str:
        """``exec_…``: the execution *log* id of a run."""
        return "exec_" + base36(self._hash("exec/" + run_id))

    def saved_search_id(self, workflow_id: str) -> str:
        """``ss_…``: the social saved search a post or engagement trigger watches."""
        return "ss_" + base36(self._hash("ss/" + workflow_id), 8)
