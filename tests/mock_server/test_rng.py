"""Seeded randomness (``mock_server._rng``): a seed family draws exactly what ``rng_for`` draws."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server._rng import SeedFamily, entity_seed, rng_for

_INDEX = st.integers(0, 2**40)


@given(st.integers(0, 2**32), st.lists(_INDEX, min_size=1, max_size=3))
def test_a_seed_family_equals_entity_seed(seed: int, rest: list[int]) -> None:
    family = SeedFamily(seed, "kibana", "run-plan")
    assert family.seed(*rest) == entity_seed(seed, "kibana", "run-plan", *rest)
    assert family.rng(*rest).random() == rng_for(seed, "kibana", "run-plan", *rest).random()


def test_a_one_word_prefix_works_too() -> None:
    assert SeedFamily(3, "x").seed(1, 2) == entity_seed(3, "x", 1, 2)


def test_a_seed_family_needs_a_prefix_and_an_index() -> None:
    with pytest.raises(ValueError, match="prefix"):
        SeedFamily(0)
    with pytest.raises(ValueError, match="index"):
        SeedFamily(0, "kibana").seed()
