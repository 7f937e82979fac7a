"""Kibana ids of the seeded world, and back, shaped as the real server makes them.

- workflow ``workflow-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` (uuid-like): the first 16 hex digits
  are the codec token of the workflow index, the last 16 a keyed hash of it (checked on decode);
- execution: a version-4 UUID, as ``generateUuid()`` gives it in Kibana's
  ``build_workflow_execution_document.ts``. Its token (``mock_server._ids.uuid_text``) encodes
  ``(kind, a, b)``, kind 0 a static run ``(workflow, run)`` and kind 1 a live run whose store
  sequence number is ``a << 20 | b``; the other digits hash the token, so an edited id is a 404;
- step execution: the 64-hex SHA-256 Kibana's engine computes
  (``workflows_execution_engine/server/utils/build_step_execution_id/build_step_execution_id.ts``):
  ``sha256("_".join([execution id, *step path, step id]))``, where the step path lists, for each
  enclosing scope frame that opened a sub-scope, its step id and the sub-scope ids
  (``build_step_path.ts``). A digest cannot be decoded: the mock recomputes the ids of one
  execution (cached) and looks the id up among them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from mock_server._ids import IdCodec, parse_hex, uuid_text, uuid_token
from mock_server._timeline import ScopeFrame

_INDEX_BITS = 20
STATIC, LIVE = 0, 1


@dataclass(frozen=True)
class KibanaIds:
    """Id codecs of one world seed."""

    seed: int
    _workflows: IdCodec = field(init=False, repr=False)
    _runs: IdCodec = field(init=False, repr=False)
    _filler_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_workflows", IdCodec(self.seed, "kibana.workflow", (24,)))
        object.__setattr__(
            self, "_runs", IdCodec(self.seed, "kibana.execution", (1, _INDEX_BITS, _INDEX_BITS))
        )
        key = hashlib.blake2b(f"{self.seed}:kibana.uuid".encode(), digest_size=16).digest()
        object.__setattr__(self, "_filler_key", key)

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
        return uuid_text(self._runs.encode(STATIC, workflow, run), self._filler_key)

    def live_execution_id(self, seq: int) -> str:
        """The id of the live run with store sequence number ``seq``."""
        high, low = divmod(seq, 1 << _INDEX_BITS)
        return uuid_text(self._runs.encode(LIVE, high, low), self._filler_key)

    def execution(self, execution_id: str) -> tuple[int, int, int] | None:
        """``(kind, a, b)`` behind ``execution_id``: (STATIC, workflow, run) or (LIVE, seq, 0)."""
        token = uuid_token(execution_id, self._filler_key)
        if token is None:
            return None
        decoded = self._runs.decode(token)
        if decoded is None:
            return None
        kind, a, b = (int(v) for v in decoded)
        return (LIVE, (a << _INDEX_BITS) | b, 0) if kind == LIVE else (STATIC, a, b)


def step_path(scope: tuple[ScopeFrame, ...]) -> list[str]:
    """Kibana's ``buildStepPath``: each frame that opened sub-scopes, then their scope ids."""
    path: list[str] = []
    for frame in scope:
        scoped = [entry.scope_id for entry in frame.nested_scopes if entry.scope_id]
        if scoped:
            path += [frame.step_id, *scoped]
    return path


def step_execution_id(execution_id: str, step_id: str, scope: tuple[ScopeFrame, ...]) -> str:
    """Kibana's ``buildStepExecutionId``: SHA-256 hex of execution id, step path and step id."""
    if not scope:  # most steps: no enclosing scope, no path
        return hashlib.sha256(f"{execution_id}_{step_id}".encode()).hexdigest()
    material = "_".join([execution_id, *step_path(scope), step_id])
    return hashlib.sha256(material.encode()).hexdigest()
