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
