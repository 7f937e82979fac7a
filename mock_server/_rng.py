"""Deterministic randomness derived from (seed, entity key).

Every value the world shows is drawn from a ``random.Random`` seeded by a hash of the world seed
and the key of the entity it belongs to, never from global state. So an entity is the same in
every process, in any request order, and can be rebuilt on demand instead of stored.
"""

from __future__ import annotations

import hashlib
import random


def entity_seed(seed: int, *key: object) -> int:
    """Return a 64-bit integer seed for the entity named by ``key`` in world ``seed``."""
    material = repr((seed, *key)).encode()
    return int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "big")


def rng_for(seed: int, *key: object) -> random.Random:
    """Return a private ``random.Random`` for the entity named by ``key`` in world ``seed``."""
    return random.Random(entity_seed(seed, *key))


class SeedFamily:
    """``rng_for(seed, *prefix, *rest)`` for the many entities whose key starts with ``prefix``
    (every run's plan, say), at half the cost: blake2b hashes a stream, so the hash of the key's
    fixed start is computed once and copied per entity, and only the integers that vary are
    formatted. The seeds are exactly ``entity_seed``'s (the same text is hashed)."""

    def __init__(self, seed: int, *prefix: str) -> None:
        if not prefix:
            raise ValueError("a seed family needs a key prefix")
        head = repr((seed, *prefix))[:-1] + ", "  # "(0, 'kibana', 'run-plan', "
        self._hasher = hashlib.blake2b(head.encode(), digest_size=8)

    def seed(self, *rest: int) -> int:
        """``entity_seed(seed, *prefix, *rest)``."""
        if not rest:
            raise ValueError("a seed family's entity needs at least one index")
        hasher = self._hasher.copy()
        hasher.update(f"{', '.join(map(repr, rest))})".encode())
        return int.from_bytes(hasher.digest(), "big")

    def rng(self, *rest: int) -> random.Random:
        """``rng_for(seed, *prefix, *rest)``."""
        return random.Random(self.seed(*rest))
