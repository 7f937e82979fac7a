"""Opaque, reversible ids for the seeded world.

An entity of the world is named by a small tuple of indices (workflow 3, run 17, step 2). The
mock must turn such a tuple into an id that looks like the vendor's, and turn an id from a
request back into the tuple in O(1), without holding the world in memory. ``IdCodec`` packs the
indices and a keyed check value into a 64-bit block and runs it through a keyed Feistel
permutation: ids look random, differ between seeds, decode exactly, and a made-up id fails the
check (a 404), with a false-positive chance of 2**-check_bits. ``uuid_text`` dresses such a token
as a version-4 UUID (Arcee's ids, Kibana's execution ids), ``uuid_token`` reads it back.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_BLOCK_BITS = 64
_HALF_BITS = 32
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 4
_ROUND_INPUT = struct.Struct(">IB").pack
"""A round hashes the 4-byte half (big-endian) followed by the round number."""


@dataclass(frozen=True)
class IdCodec:
    """Encode index tuples as keyed 64-bit tokens, and decode them back.

    ``field_bits`` gives the width of each index; what is left of the 64 bits is the check
    value, which also covers ``context`` (e.g. the parent execution's id), so a step id is only
    valid under its own execution.
    """

    seed: int
    namespace: str
    field_bits: tuple[int, ...]
    _key: bytes = field(init=False, repr=False)
    _check_hasher: Any = field(init=False, repr=False, compare=False)
    _round_hasher: Any = field(init=False, repr=False, compare=False)
    _check_bits: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        payload_bits = sum(self.field_bits)
        if payload_bits > _BLOCK_BITS - 16:
            raise ValueError(f"{self.namespace}: {payload_bits} payload bits leave < 16 check bits")
        key = hashlib.blake2b(f"{self.seed}:{self.namespace}".encode(), digest_size=16).digest()
        object.__setattr__(self, "_key", key)
        # Keyed hashers to copy per use: the same digests as building them each time, 2x faster.
        object.__setattr__(self, "_check_hasher", hashlib.blake2b(digest_size=8, key=key))
        object.__setattr__(self, "_round_hasher", hashlib.blake2b(digest_size=4, key=key))
        object.__setattr__(self, "_check_bits", _BLOCK_BITS - payload_bits)

    def encode(self, *indices: int, context: str = "") -> int:
        """Return the token for ``indices`` (each must fit its field width)."""
        payload = 0
        for value, bits in zip(indices, self.field_bits, strict=True):
            if not 0 <= value < (1 << bits):
                raise ValueError(f"{self.namespace}: index {value} does not fit {bits} bits")
            payload = (payload << bits) | value
        block = (payload << self._check_bits) | self._check(payload, context)
        return self._permute(block)

    def decode(self, token: int, context: str = "") -> tuple[int, ...] | None:
        """Return the indices behind ``token``, or None if it was not made by this codec."""
        if not 0 <= token < (1 << _BLOCK_BITS):
            return None
        block = self._unpermute(token)
        payload = block >> self._check_bits
        if block & ((1 << self._check_bits) - 1) != self._check(payload, context):
            return None
        indices: list[int] = []
        for bits in reversed(self.field_bits):
            indices.append(payload & ((1 << bits) - 1))
            payload >>= bits
        return tuple(reversed(indices))

    def _check(self, payload: int, context: str) -> int:
        hasher = self._check_hasher.copy()
        hasher.update(payload.to_bytes(8, "big") + context.encode())
        return int.from_bytes(hasher.digest(), "big") & ((1 << self._check_bits) - 1)

    def _permute(self, block: int) -> int:
        # Round n: ``left, right = right, left ^ F(right, n)``, where F(half, n) is the 4-byte
        # keyed blake2b of ``half`` (4 bytes, big-endian) and ``n``. Hashed inline, its input
        # packed in one call: a third cheaper than calling a round method, for the same tokens.
        left, right = block >> _HALF_BITS, block & _HALF_MASK
        copy = self._round_hasher.copy
        for round_no in range(_ROUNDS):
            hasher = copy()
            hasher.update(_ROUND_INPUT(right, round_no))
            left, right = right, left ^ int.from_bytes(hasher.digest(), "big")
        return (left << _HALF_BITS) | right

    def _unpermute(self, block: int) -> int:
        left, right = block >> _HALF_BITS, block & _HALF_MASK
        copy = self._round_hasher.copy
        for round_no in reversed(range(_ROUNDS)):
            hasher = copy()
            hasher.update(_ROUND_INPUT(left, round_no))
            left, right = right ^ int.from_bytes(hasher.digest(), "big"), left
        return (left << _HALF_BITS) | right


def hex_groups(token: int, groups: tuple[int, ...]) -> str:
    """Format the 64-bit ``token`` as dash-separated hex groups whose widths sum to 16."""
    text = f"{token:016x}"
    parts, start = [], 0
    for width in groups:
        parts.append(text[start : start + width])
        start += width
    return "-".join(parts)


def parse_hex(text: str) -> int | None:
    """Return the integer behind dash-separated hex groups, or None if ``text`` is not hex."""
    digits = text.replace("-", "")
    if len(digits) != 16 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return int(digits, 16)


_HEX = frozenset("0123456789abcdef")


@lru_cache(maxsize=64)
def _filler_hasher(filler_key: bytes) -> Any:
    """A blake2b hasher already keyed with ``filler_key``, to copy per id (a world has one key;
    copying a keyed hasher gives the same digest as keying a new one, at half the cost)."""
    return hashlib.blake2b(digest_size=8, key=filler_key)


def uuid_text(token: int, filler_key: bytes) -> str:
    """Format a 64-bit token as a version-4 UUID whose other digits hash the token."""
    digits = f"{token:016x}"
    hasher = _filler_hasher(filler_key).copy()
    hasher.update(token.to_bytes(8, "big"))
    filler = hasher.hexdigest()
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
