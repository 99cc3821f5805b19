"""Inverted dropout from scratch: the mask, the function and the layer.

During training every unit is dropped (set to zero) with probability `p` and the
units that survive are scaled by `1 / (1 - p)`, so that each unit's expected
value is unchanged; at inference every unit takes part and nothing is scaled.
"""

from __future__ import annotations

from numbers import Real

import torch
from torch import nn

from helpers.core.checks import checked


def check_drop_probability(p: float) -> float:
    """Return `p` as a float if it is a valid drop probability, in [0, 1); else raise `ValueError`."""
    if isinstance(p, bool) or not isinstance(p, Real):
        raise TypeError(f"the drop probability p must be a number in [0, 1), got {type(p).__name__} {p!r}")
    if not 0 <= p < 1:
        raise ValueError(
            f"the drop probability p must lie in [0, 1), got {p}: p = 0 keeps every unit, "
            "and p = 1 would drop them all (and divide by 1 - p = 0); pick e.g. p = 0.5"
        )
    return float(p)


def check_dropout_input(x: torch.Tensor, p: float, **_) -> None:
    """A floating-point tensor and a valid drop probability."""
    check_drop_probability(p)
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise TypeError(
            f"dropout needs a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}; "
            "convert it first, e.g. x.float()"
        )


@checked(check_dropout_input)
def dropout_mask(x: torch.Tensor, p: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """A mask shaped like `x`: ones (kept, probability `1 - p`) and zeros (dropped, probability `p`)."""
    return torch.empty_like(x).bernoulli_(1 - p, generator=generator)


@checked(check_dropout_input)
def dropout(
    x: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout: in training, zero each entry with probability `p` and scale the rest by `1 / (1 - p)`.

    With `training=False` (inference) `x` is returned unchanged. With the same
    random state this draws exactly the mask `nn.Dropout` draws on the CPU.
    """
    if not training:
        return x
    return x * (dropout_mask(x, p, generator=generator) / (1 - p))


class Dropout(nn.Module):
    """Inverted dropout as a layer: active after `model.train()`, the identity after `model.eval()`."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_drop_probability(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
