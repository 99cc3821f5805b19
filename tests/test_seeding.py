import random

import numpy as np
import pytest
import torch

from helpers.core.seeding import seed_everything


def draw():
    return random.random(), np.random.rand(), torch.rand(3)


def test_same_seed_same_numbers_everywhere():
    seed_everything(42)
    first = draw()
    seed_everything(42)
    second = draw()
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])


def test_different_seed_different_numbers():
    seed_everything(1)
    first = draw()
    seed_everything(2)
    assert first[0] != draw()[0]


def test_returned_generator_is_seeded():
    a = torch.rand(4, generator=seed_everything(7))
    b = torch.rand(4, generator=seed_everything(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_non_integer_seed_rejected(bad):
    with pytest.raises(TypeError, match="seed must be an integer"):
        seed_everything(bad)


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_out_of_range_seed_rejected(bad):
    with pytest.raises(ValueError, match=r"seed must lie in \[0, 2\*\*32\)"):
        seed_everything(bad)
