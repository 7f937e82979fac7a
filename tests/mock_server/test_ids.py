"""IdCodec: ids decode to exactly what encoded them, differ by seed, and reject made-up ids."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server._ids import IdCodec, hex_groups, parse_hex, uuid_text, uuid_token

CODEC = IdCodec(seed=7, namespace="test.execution", field_bits=(16, 24))


@given(st.integers(0, 2**16 - 1), st.integers(0, 2**24 - 1))
def test_round_trip(workflow: int, run: int) -> None:
    assert CODEC.decode(CODEC.encode(workflow, run)) == (workflow, run)


@given(st.integers(0, 2**16 - 1), st.integers(0, 2**24 - 1), st.integers(0, 63))
def test_a_changed_bit_is_rejected(workflow: int, run: int, bit: int) -> None:
    token = CODEC.encode(workflow, run)
    # With 24 check bits a random token passes with probability 2**-24; flipping one bit of a
    # real token must fail (a Feistel permutation diffuses every bit into the check value).
    assert CODEC.decode(token ^ (1 << bit)) is None


def test_context_binds_a_child_id_to_its_parent() -> None:
    steps = IdCodec(seed=7, namespace="test.step", field_bits=(20,))
    token = steps.encode(3, context="exec-1")
    assert steps.decode(token, context="exec-1") == (3,)
    assert steps.decode(token, context="exec-2") is None


def test_seeds_and_namespaces_give_different_ids() -> None:
    other_seed = IdCodec(seed=8, namespace="test.execution", field_bits=(16, 24))
    other_space = IdCodec(seed=7, namespace="test.workflow", field_bits=(16, 24))
    token = CODEC.encode(1, 2)
    assert other_seed.encode(1, 2) != token
    assert other_space.encode(1, 2) != token
    assert other_seed.decode(token) is None


def test_out_of_range_indices_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        CODEC.encode(2**16, 0)
    with pytest.raises(ValueError, match="check bits"):
        IdCodec(seed=0, namespace="too-wide", field_bits=(32, 24))


def test_hex_formatting_round_trips() -> None:
    token = CODEC.encode(5, 6)
    text = hex_groups(token, (8, 4, 4))
    assert len(text) == 18
    assert text.count("-") == 2
    assert parse_hex(text) == token
    assert parse_hex("zz") is None
    assert parse_hex("0123456789abcdeg") is None


def _reference_token(codec: IdCodec, indices: tuple[int, ...], context: str = "") -> int:
    """``IdCodec.encode`` as the module docstring defines it, written plainly: the packed
    indices and their keyed check value, through four rounds of a keyed blake2b Feistel."""
    key = hashlib.blake2b(f"{codec.seed}:{codec.namespace}".encode(), digest_size=16).digest()
    check_bits = 64 - sum(codec.field_bits)
    payload = 0
    for value, bits in zip(indices, codec.field_bits, strict=True):
        payload = (payload << bits) | value
    check = hashlib.blake2b(payload.to_bytes(8, "big") + context.encode(), digest_size=8, key=key)
    block = (payload << check_bits) | (int.from_bytes(check.digest(), "big") % 2**check_bits)
    left, right = block >> 32, block % 2**32
    for round_no in range(4):
        data = right.to_bytes(4, "big") + bytes([round_no])
        mixed = int.from_bytes(hashlib.blake2b(data, digest_size=4, key=key).digest(), "big")
        left, right = right, left ^ mixed
    return (left << 32) | right


@given(st.integers(0, 2**16 - 1), st.integers(0, 2**24 - 1), st.sampled_from(["", "exec-1"]))
def test_tokens_are_those_of_the_plain_feistel(workflow: int, run: int, context: str) -> None:
    # The codec's unrolled rounds and reused keyed hashers are a speed-up only: every id the
    # world ever issued must stay the same.
    token = CODEC.encode(workflow, run, context=context)
    assert token == _reference_token(CODEC, (workflow, run), context)
    assert CODEC.decode(token, context=context) == (workflow, run)


@given(st.integers(0, 2**64 - 1), st.binary(min_size=16, max_size=16))
def test_uuid_text_is_the_keyed_hash_of_its_token(token: int, key: bytes) -> None:
    filler = hashlib.blake2b(token.to_bytes(8, "big"), digest_size=8, key=key).hexdigest()
    digits = f"{token:016x}"
    variant = "89ab"[int(filler[0], 16) & 3]
    expected = (
        f"{digits[0:8]}-{digits[8:12]}-4{digits[12:15]}-"
        f"{variant}{digits[15]}{filler[1:3]}-{filler[3:15]}"
    )
    assert uuid_text(token, key) == expected
    assert uuid_token(expected, key) == token
