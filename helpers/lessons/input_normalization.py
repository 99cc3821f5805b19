"""Colour-tinted MNIST: a data set in which colour is a shortcut that stops working at test time.

Each grey-scale digit is painted in one colour (its strokes take the colour, the
background stays black). One digit is painted red far more often than the
others, so in training "red" and that digit go together; changing the rule at
test time shows whether a network learned the digit's shape or its colour.
"""

from __future__ import annotations

import torch
from torch import Tensor

PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
}


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} is a probability and must lie in [0, 1], got {value}")


def tint_digits(
    images: Tensor,
    labels: Tensor,
    *,
    red_digit: int,
    red_if_digit: float,
    red_if_other: float,
    seed: int = 0,
) -> Tensor:
    """Paint grey-scale digits `(N, 1, H, W)` in colour, giving `(N, 3, H, W)`.

    An image of `red_digit` is red with probability `red_if_digit`, any other
    image with probability `red_if_other`; images that are not red get one of
    the other `PALETTE` colours, uniformly at random. Colours are drawn from
    their own generator seeded with `seed`, so the same call gives the same data.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be grey-scale, of shape (N, 1, H, W), got {tuple(images.shape)}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: they must pair up one to one")
    if not 0 <= red_digit <= 9:
        raise ValueError(f"red_digit must be a digit from 0 to 9, got {red_digit}")
    _check_probability("red_if_digit", red_if_digit)
    _check_probability("red_if_other", red_if_other)
    generator = torch.Generator().manual_seed(seed)
    chance = torch.where(labels == red_digit, red_if_digit, red_if_other)
    red = torch.rand(len(labels), generator=generator) < chance
    other = torch.randint(1, len(PALETTE), (len(labels),), generator=generator)
    colours = torch.tensor(list(PALETTE.values()), dtype=images.dtype)[torch.where(red, 0, other)]
    return images * colours[:, :, None, None].to(images.device)
