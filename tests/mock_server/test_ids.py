"""IdCodec: ids decode to exactly what encoded them, differ by seed, and reject made-up ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server._ids import IdCodec, hex_groups, parse_hex

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
