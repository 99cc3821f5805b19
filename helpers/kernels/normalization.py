"""Min-max and z-score normalization, fitted on the training inputs and applied to inputs of any split.

A scaler learns a shift and a scale from the training inputs once (`fit`) and then
applies exactly those numbers to any tensor (`transform`): the training set, the
test set, one new image. The statistics are either *global* (one shift and one
scale for all values) or *per feature* (one of each for every position after the
first, batch, dimension; for MNIST images, one per pixel).

A feature whose training values never vary has spread zero. It carries no
information, and dividing by zero would give infinities, so `transform` divides it
by 1: it is only shifted, which maps its training value to 0 and leaves any other
value at its raw distance from it.

The two classes are the idea, exactly as notebook 04 shows them; `@_guarded` adds
the argument checks (a floating-point training tensor, `fit` before `transform`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from helpers.core.checks import checked


class NotFittedError(RuntimeError):
    """A scaler was asked to transform before it learned its statistics."""


def check_per_feature(self, per_feature: object, **_) -> None:
    """`per_feature` is True or False."""
    if not isinstance(per_feature, bool):
        raise TypeError(f"per_feature must be True or False, got {per_feature!r}")


def check_fit_input(self, inputs: object, **_) -> None:
    """Training inputs: a floating-point tensor of shape `(N, ...)` with at least one sample, all finite."""
    name = type(self).__name__
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point():
        kind = inputs.dtype if isinstance(inputs, Tensor) else type(inputs).__name__
        raise TypeError(f"{name}.fit needs a floating-point tensor, got {kind}; convert it with .float()")
    if inputs.dim() == 0 or len(inputs) == 0:
        raise ValueError(f"{name}.fit needs at least one sample, got a tensor of shape {tuple(inputs.shape)}")
    if not torch.isfinite(inputs).all():
        raise ValueError(f"{name}.fit got NaN or infinite values; clean or drop those samples first")


def check_transform_input(self, inputs: object, **_) -> None:
    """A fitted scaler, and a tensor whose samples are shaped like the training samples (for per-feature scaling)."""
    name = type(self).__name__
    if not hasattr(self, "shift"):
        raise NotFittedError(f"this {name} has not been fitted: call .fit(training_inputs) on the training set first")
    if not isinstance(inputs, Tensor):
        raise TypeError(f"{name}.transform needs a tensor, got {type(inputs).__name__}")
    if self.per_feature and inputs.shape[1:] != self.shift.shape:
        raise ValueError(
            f"this {name} was fitted per feature on samples of shape {tuple(self.shift.shape)}, "
            f"but got samples of shape {tuple(inputs.shape[1:])}; reshape them as the training set was"
        )


def _guarded(cls: type) -> type:
    """Class decorator: run the checks above before `__init__`, `fit` and `transform` of a scaler."""
    checks: dict[str, Callable[..., None]] = {
        "__init__": check_per_feature,
        "fit": check_fit_input,
        "transform": check_transform_input,
    }
    for method, check in checks.items():
        setattr(cls, method, checked(check)(getattr(cls, method)))
    return cls


@_guarded
class MinMaxScaler:
    """Min-max normalization, `(x - min) / (max - min)`: the training values land in [0, 1]."""

    def __init__(self, *, per_feature: bool = False):
        self.per_feature = per_feature  # one minimum and range per position (pixel) instead of one for all values

    def fit(self, inputs: Tensor):
        """Learn the minimum and the range of the training inputs, shape `(N, ...)`; returns the scaler."""
        values = inputs if self.per_feature else inputs.reshape(-1)
        self.shift = values.min(dim=0).values
        self.scale = values.max(dim=0).values - self.shift
        return self

    def transform(self, inputs: Tensor) -> Tensor:
        """Scale inputs of any split with the training statistics; a constant feature (scale 0) is only shifted."""
        return (inputs - self.shift) / torch.where(self.scale == 0, 1.0, self.scale)


@_guarded
class ZScoreScaler:
    """Z-score normalization, `(x - mean) / std`: the training values get mean 0 and standard deviation 1."""

    def __init__(self, *, per_feature: bool = False):
        self.per_feature = per_feature  # one mean and standard deviation per position (pixel), or one for all values

    def fit(self, inputs: Tensor):
        """Learn the mean and the (population) standard deviation of the training inputs; returns the scaler."""
        values = inputs if self.per_feature else inputs.reshape(-1)
        self.shift = values.mean(dim=0)
        self.scale = values.std(dim=0, correction=0)
        return self

    def transform(self, inputs: Tensor) -> Tensor:
        """Scale inputs of any split with the training statistics; a constant feature (scale 0) is only shifted."""
        return (inputs - self.shift) / torch.where(self.scale == 0, 1.0, self.scale)
