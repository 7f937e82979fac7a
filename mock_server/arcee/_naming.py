"""Arcee ids: UUID-looking workflow, run and step ids that decode in O(1).

Arcee's documented ids look like UUIDs but need not be valid ones (the docs' own step id
``…5ghaf0b`` is not hex). We still issue well-formed version-4 UUIDs, so a client that parses
them keeps working: the 16 hex digits of a keyed Feistel token (``mock_server._ids.IdCodec``)
fill the free digits of the first four groups, and a keyed hash of the token fills the rest.
Decoding reads the token back, re-derives the filler and compares the whole text, so a made-up or
edited id is a 404. Step ids are never looked up, so they are plain keyed hashes of
``(run id, position)``.

Each id costs a few keyed hashes, and one request meets the same ids several times (the URL's
workflow and run ids are decoded, then the run's plan needs its run id again; a history page
encodes run ids and then looks each up). So ``ArceeIds`` remembers workflow ids in a bounded LRU
(one entry per workflow; the service memoises the lookup the other way) and the run ids it last
encoded or decoded in a small table that is emptied when full: both bounded, whatever the
world's size.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from mock_server._budget import WORKFLOW_CACHE
from mock_server._ids import IdCodec
from mock_server._ids import uuid_text as uuid_text  # re-exported: Arcee modules import it here
from mock_server._ids import uuid_token as uuid_token
from mock_server._rng import rng_for

WORKFLOW_BITS = 20
"""Room for 2**20 workflows (``MockConfig`` allows at most 10**6 runs per API)."""
RUN_BITS = 20
BULK_WORKFLOW = (1 << WORKFLOW_BITS) - 1
"""Index reserved for the 1,000-node bulk workflow (outside ``workflows_per_api``)."""
RECENT_RUN_IDS = 256
"""Run ids remembered (both ways) between encoding and decoding them; the table is emptied when
it holds this many, so it never grows beyond it."""


class ArceeIds:
    """The id scheme of one Arcee world (all ids differ between seeds)."""

    def __init__(self, seed: int) -> None:
        self._workflows = IdCodec(seed, "arcee.workflow", (WORKFLOW_BITS,))
        self._runs = IdCodec(seed, "arcee.run", (WORKFLOW_BITS, RUN_BITS))
        self.filler_key = hashlib.blake2b(f"{seed}:arcee.filler".encode(), digest_size=16).digest()
        """Key of the hash that fills the non-token digits of every id of this world."""
        step_key = hashlib.blake2b(f"{seed}:arcee.step".encode(), digest_size=16).digest()
        self._step_hasher = hashlib.blake2b(digest_size=8, key=step_key)
        """Keyed once, copied per step id (the same digest as keying a new hasher, cheaper)."""
        rng = rng_for(seed, "arcee", "tenant")
        self.user_id = "2" + f"{rng.randrange(10**17):017d}"
        """The API key owner; fixed per world (the docs mask it as ``2*****************1``)."""
        self.organization_id = "2" + f"{rng.randrange(10**17):017d}"
        self.colleague_id = "2" + f"{rng.randrange(10**17):017d}"
        """Another member of the organization (edits some workflows)."""
        self.workflow_id = lru_cache(maxsize=WORKFLOW_CACHE)(self._workflow_id)
        """The id of workflow ``index`` (memoised per workflow)."""
        self._run_ids: dict[tuple[int, int], str] = {}
        self._run_indices: dict[str, tuple[int, int]] = {}

    def _workflow_id(self, index: int) -> str:
        return uuid_text(self._workflows.encode(index), self.filler_key)

    def workflow_index(self, text: str) -> int | None:
        """The index behind a workflow id, or None for an id this world never issued."""
        token = uuid_token(text, self.filler_key)
        decoded = None if token is None else self._workflows.decode(token)
        return None if decoded is None else decoded[0]

    def run_id(self, workflow: int, run: int) -> str:
        """The id of run ``run`` of workflow ``workflow``."""
        text = self._run_ids.get((workflow, run))
        if text is None:
            text = uuid_text(self._runs.encode(workflow, run), self.filler_key)
            self._remember(workflow, run, text)
        return text

    def run_indices(self, text: str) -> tuple[int, int] | None:
        """``(workflow, run)`` behind a run id, or None for an id this world never issued."""
        found = self._run_indices.get(text)
        if found is not None:
            return found
        token = uuid_token(text, self.filler_key)
        decoded = None if token is None else self._runs.decode(token)
        if decoded is None:
            return None
        self._remember(decoded[0], decoded[1], text)
        return decoded[0], decoded[1]

    def _remember(self, workflow: int, run: int, text: str) -> None:
        """Note that run ``(workflow, run)`` is called ``text`` (see ``RECENT_RUN_IDS``); each
        dict operation is atomic, so threads sharing the tables at worst recompute an id."""
        if len(self._run_ids) >= RECENT_RUN_IDS:
            self._run_ids.clear()
            self._run_indices.clear()
        self._run_ids[workflow, run] = text
        self._run_indices[text] = (workflow, run)

    def step_id(self, run_id: str, position: int) -> str:
        """The id of the step at ``position`` of run ``run_id`` (unique with overwhelming odds)."""
        hasher = self._step_hasher.copy()
        hasher.update(f"{run_id}/{position}".encode())
        return uuid_text(int.from_bytes(hasher.digest(), "big"), self.filler_key)
