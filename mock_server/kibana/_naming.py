"""Kibana ids of the seeded world, and back.

- workflow ``workflow-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` (uuid-like): the first 16 hex digits
  are the codec token of the workflow index, the last 16 a keyed hash of it (checked on decode);
- execution ``exec-xxxxxxxx-xxxx-xxxx``: a token of ``(kind, a, b)`` where kind 0 is a static
  run ``(workflow, run)`` and kind 1 a live run whose store sequence number is ``a << 20 | b``;
- step execution ``step-xxxxxxxx-xxxx-xxxx``: the step's position and a 40-bit check value,
  both keyed by the execution id (one keyed hash per execution, then a cheap invertible 64-bit
  mixer per step: runs have up to 10,000 steps), so a step id is only valid under its own
  execution.

A made-up id fails the codec's check value and is a 404, like an id that names no entity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from mock_server._ids import IdCodec, hex_groups, parse_hex

_INDEX_BITS = 20
STATIC, LIVE = 0, 1
MAX_STEPS = 1 << 24


@dataclass(frozen=True)
class KibanaIds:
    """Id codecs of one world seed."""

    seed: int
    _workflows: IdCodec = field(init=False, repr=False)
    _runs: IdCodec = field(init=False, repr=False)
    _step_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_workflows", IdCodec(self.seed, "kibana.workflow", (24,)))
        object.__setattr__(
            self, "_runs", IdCodec(self.seed, "kibana.execution", (1, _INDEX_BITS, _INDEX_BITS))
        )
        key = hashlib.blake2b(f"{self.seed}:kibana.step".encode(), digest_size=16).digest()
        object.__setattr__(self, "_step_key", key)

    # Workflows ---------------------------------------------------------------------------

    def workflow_id(self, index: int) -> str:
        """The id of workflow ``index``."""
        token = self._workflows.encode(index)
        head = f"{token:016x}"
        tail = self._tail(head)
        return f"workflow-{head[:8]}-{head[8:12]}-{head[12:16]}-{tail[:4]}-{tail[4:]}"

    def workflow_index(self, workflow_id: str) -> int | None:
        """The index behind ``workflow_id``, or None if this world did not make it."""
        if not workflow_id.startswith("workflow-") or len(workflow_id) != 45:
            return None
        digits = workflow_id[9:].replace("-", "")
        head, tail = digits[:16], digits[16:]
        token = parse_hex(head)
        if token is None or tail != self._tail(head):
            return None
        decoded = self._workflows.decode(token)
        return None if decoded is None else int(decoded[0])

    def _tail(self, head: str) -> str:
        material = f"{self.seed}:{head}".encode()
        return hashlib.blake2b(material, digest_size=8).hexdigest()

    # Executions --------------------------------------------------------------------------

    def execution_id(self, workflow: int, run: int) -> str:
        """The id of static run ``run`` of workflow ``workflow``."""
        token = self._runs.encode(STATIC, workflow, run)
        return "exec-" + hex_groups(token, (8, 4, 4))

    def live_execution_id(self, seq: int) -> str:
        """The id of the live run with store sequence number ``seq``."""
        high, low = divmod(seq, 1 << _INDEX_BITS)
        token = self._runs.encode(LIVE, high, low)
        return "exec-" + hex_groups(token, (8, 4, 4))

    def execution(self, execution_id: str) -> tuple[int, int, int] | None:
        """``(kind, a, b)`` behind ``execution_id``: (STATIC, workflow, run) or (LIVE, seq, 0)."""
        if not execution_id.startswith("exec-") or len(execution_id) != 23:
            return None
        token = parse_hex(execution_id[5:])
        if token is None:
            return None
        decoded = self._runs.decode(token)
        if decoded is None:
            return None
        kind, a, b = (int(v) for v in decoded)
        return (LIVE, (a << _INDEX_BITS) | b, 0) if kind == LIVE else (STATIC, a, b)

    # Step executions ---------------------------------------------------------------------

    @lru_cache(maxsize=8192)  # noqa: B019  # bounded; the instance lives as long as its world
    def _step_secret(self, execution_id: str) -> tuple[int, int]:
        digest = hashlib.blake2b(execution_id.encode(), digest_size=16, key=self._step_key).digest()
        return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big") & _CHECK_MASK

    def step_id(self, execution_id: str, position: int) -> str:
        """The id of the step at ``position`` of execution ``execution_id``."""
        if not 0 <= position < MAX_STEPS:
            raise ValueError(f"step position {position} does not fit 24 bits")
        mask, check = self._step_secret(execution_id)
        token = _mix(((position << _CHECK_BITS) | check) ^ mask)
        return "step-" + hex_groups(token, (8, 4, 4))

    def step_position(self, execution_id: str, step_id: str) -> int | None:
        """The position behind ``step_id`` within ``execution_id``, or None."""
        if not step_id.startswith("step-") or len(step_id) != 23:
            return None
        token = parse_hex(step_id[5:])
        if token is None:
            return None
        mask, check = self._step_secret(execution_id)
        value = _unmix(token) ^ mask
        if value & _CHECK_MASK != check:
            return None
        return value >> _CHECK_BITS


_M64 = (1 << 64) - 1
_C1, _C2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_C1_INV, _C2_INV = pow(_C1, -1, 1 << 64), pow(_C2, -1, 1 << 64)
_CHECK_BITS = 40
_CHECK_MASK = (1 << _CHECK_BITS) - 1


def _mix(x: int) -> int:
    """SplitMix64's finalizer: a bijection of 64-bit integers that scatters every bit."""
    x ^= x >> 30
    x = (x * _C1) & _M64
    x ^= x >> 27
    x = (x * _C2) & _M64
    return x ^ (x >> 31)


def _unshift(y: int, shift: int) -> int:
    x = y
    for _ in range(64 // shift + 1):
        x = y ^ (x >> shift)
    return x


def _unmix(x: int) -> int:
    """The inverse of ``_mix``."""
    x = _unshift(x, 31)
    x = (x * _C2_INV) & _M64
    x = _unshift(x, 27)
    x = (x * _C1_INV) & _M64
    return _unshift(x, 30)
