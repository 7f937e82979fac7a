"""Arcee ids: UUID-looking workflow, run and step ids that decode in O(1).

Arcee's documented ids look like UUIDs but need not be valid ones (the docs' own step id
``…5ghaf0b`` is not hex). We still issue well-formed version-4 UUIDs, so a client that parses
them keeps working: the 16 hex digits of a keyed Feistel token (``mock_server._ids.IdCodec``)
fill the free digits of the first four groups, and a keyed hash of the token fills the rest.
Decoding reads the token back, re-derives the filler and compares the whole text, so a made-up or
edited id is a 404. Step ids are never looked up, so they are plain keyed hashes of
``(run id, position)``.
"""

from __future__ import annotations

import hashlib

from mock_server._ids import IdCodec
from mock_server._rng import rng_for

WORKFLOW_BITS = 20
"""Room for 2**20 workflows (``MockConfig`` allows at most 10**6 runs per API)."""
RUN_BITS = 20
BULK_WORKFLOW = (1 << WORKFLOW_BITS) - 1
"""Index reserved for the 1,000-node bulk workflow (outside ``workflows_per_api``)."""
_HEX = frozenset("0123456789abcdef")


def uuid_text(token: int, filler_key: bytes) -> str:
    """Format a 64-bit token as a version-4 UUID whose other digits hash the token."""
    digits = f"{token:016x}"
    filler = hashlib.blake2b(token.to_bytes(8, "big"), digest_size=8, key=filler_key).hexdigest()
    variant = "89ab"[int(filler[0], 16) & 3]
    return (
        f"{digits[0:8]}-{digits[8:12]}-4{digits[12:15]}-"
        f"{variant}{digits[15]}{filler[1:3]}-{filler[3:15]}"
    )


def uuid_token(text: str, filler_key: bytes) -> int | None:
    """The token behind ``uuid_text`` output, or None if ``text`` was not made that way."""
    if len(text) != 36 or not _HEX.issuperset(text.replace("-", "")):
        return None
    token = int(text[0:8] + text[9:13] + text[15:18] + text[20], 16)
    return token if uuid_text(token, filler_key) == text else None


class ArceeIds:
    """The id scheme of one Arcee world (all ids differ between seeds)."""

    def __init__(self, seed: int) -> None:
        self._workflows = IdCodec(seed, "arcee.workflow", (WORKFLOW_BITS,))
        self._runs = IdCodec(seed, "arcee.run", (WORKFLOW_BITS, RUN_BITS))
        self.filler_key = hashlib.blake2b(f"{seed}:arcee.filler".encode(), digest_size=16).digest()
        """Key of the hash that fills the non-token digits of every id of this world."""
        self._step_key = hashlib.blake2b(f"{seed}:arcee.step".encode(), digest_size=16).digest()
        rng = rng_for(seed, "arcee", "tenant")
        self.user_id = "2" + f"{rng.randrange(10**17):017d}"
        """The API key owner; fixed per world (the docs mask it as ``2*****************1``)."""
        self.organization_id = "2" + f"{rng.randrange(10**17):017d}"
        self.colleague_id = "2" + f"{rng.randrange(10**17):017d}"
        """Another member of the organization (edits some workflows)."""

    def workflow_id(self, index: int) -> str:
        """The id of workflow ``index``."""
        return uuid_text(self._workflows.encode(index), self.filler_key)

    def workflow_index(self, text: str) -> int | None:
        """The index behind a workflow id, or None for an id this world never issued."""
        token = uuid_token(text, self.filler_key)
        decoded = None if token is None else self._workflows.decode(token)
        return None if decoded is None else decoded[0]

    def run_id(self, workflow: int, run: int) -> str:
        """The id of run ``run`` of workflow ``workflow``."""
        return uuid_text(self._runs.encode(workflow, run), self.filler_key)

    def run_indices(self, text: str) -> tuple[int, int] | None:
        """``(workflow, run)`` behind a run id, or None for an id this world never issued."""
        token = uuid_token(text, self.filler_key)
        decoded = None if token is None else self._runs.decode(token)
        return None if decoded is None else (decoded[0], decoded[1])

    def step_id(self, run_id: str, position: int) -> str:
        """The id of the step at ``position`` of run ``run_id`` (unique with overwhelming odds)."""
        digest = hashlib.blake2b(
            f"{run_id}/{position}".encode(), digest_size=8, key=self._step_key
        ).digest()
        return uuid_text(int.from_bytes(digest, "big"), self.filler_key)
