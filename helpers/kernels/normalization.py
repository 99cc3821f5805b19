"""Min-max and z-score normalization as fit-on-train, apply-anywhere transforms.

A scaler learns its statistics from the training inputs once (`fit`) and then
applies exactly those statistics to any tensor (`transform`): the training set,
the test set, one new image. Statistics are either *global* (one shift and one
scale for every value) or *per feature* (one of each for every position after
the first, batch, dimension; for MNIST images, one per pixel).

Constant features: a feature whose training values never vary has spread zero,
and dividing by it would give infinities (or, with a tiny epsilon, huge values
for any test input that differs from the constant). Such a feature carries no
information, so its scale is set to 1: it is only shifted, which maps its
training value to 0 and leaves any other value at its raw distance from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor


class NotFittedError(RuntimeError):
    """A scaler was asked to transform before it learned its statistics."""


class _Scaler(ABC):
    """Shared machinery: `(inputs - shift) / scale` with `shift` and `scale` learned by `fit`."""

    statistic_names: tuple[str, str]

    def __init__(self, *, per_feature: bool = False) -> None:
        if not isinstance(per_feature, bool):
            raise TypeError(f"per_feature must be True or False, got {per_feature!r}")
        self.per_feature = per_feature
        self.shift: Tensor | None = None
        self.scale: Tensor | None = None
        self.constant: Tensor | None = None  # True where the training values never vary

    @abstractmethod
    def _statistics(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """Shift and spread of `inputs` over its first dimension."""

    def fit(self, inputs: Tensor) -> _Scaler:
        """Learn the statistics from the training inputs (shape `(N, ...)`) and return the scaler."""
        name = type(self).__name__
        if not isinstance(inputs, Tensor) or not inputs.is_floating_point():
            kind = inputs.dtype if isinstance(inputs, Tensor) else type(inputs).__name__
            raise TypeError(f"{name}.fit needs a floating-point tensor, got {kind}; convert it with .float()")
        if inputs.dim() == 0 or len(inputs) == 0:
            raise ValueError(f"{name}.fit needs at least one sample, got a tensor of shape {tuple(inputs.shape)}")
        if not torch.isfinite(inputs).all():
            raise ValueError(f"{name}.fit got NaN or infinite values; clean or drop those samples first")
        shift, spread = self._statistics(inputs if self.per_feature else inputs.reshape(-1))
        self.constant = spread == 0
        self.shift, self.scale = shift, torch.where(self.constant, torch.ones_like(spread), spread)
        return self

    def transform(self, inputs: Tensor) -> Tensor:
        """`(inputs - shift) / scale` with the statistics learned by `fit`, for inputs of any split."""
        name = type(self).__name__
        if self.shift is None:
            raise NotFittedError(
                f"this {name} has not been fitted: call .fit(training_inputs) on the training set first"
            )
        if not isinstance(inputs, Tensor):
            raise TypeError(f"{name}.transform needs a tensor, got {type(inputs).__name__}")
        if self.per_feature and inputs.shape[1:] != self.shift.shape:
            raise ValueError(
                f"this {name} was fitted per feature on samples of shape {tuple(self.shift.shape)}, "
                f"but got samples of shape {tuple(inputs.shape[1:])}; reshape them as the training set was"
            )
        return (inputs - self.shift.to(inputs.device)) / self.scale.to(inputs.device)

    def __call__(self, inputs: Tensor) -> Tensor:
        """Same as `transform`, so a fitted scaler can sit in a `torchvision.transforms.v2.Compose`."""
        return self.transform(inputs)

    def __repr__(self) -> str:
        name = type(self).__name__
        if self.shift is None:
            return f"{name}({'per feature' if self.per_feature else 'global'}, not fitted)"
        if self.per_feature:
            features, constant = self.shift.numel(), int(self.constant.sum())
            return f"{name}(per feature: {features} features, {constant} constant)"
        shift_name, scale_name = self.statistic_names
        return f"{name}(global: {shift_name}={self.shift.item():.4g}, {scale_name}={self.scale.item():.4g})"


class MinMaxScaler(_Scaler):
    """Min-max normalization, `(x - min) / (max - min)`: the training values land in [0, 1]."""

    statistic_names = ("min", "range")

    def _statistics(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        low, high = inputs.min(dim=0).values, inputs.max(dim=0).values
        return low, high - low


class ZScoreScaler(_Scaler):
    """Z-score normalization, `(x - mean) / std`: the training values get mean 0 and standard deviation 1.

    The standard deviation is the population one (divide by N), as batch normalization uses.
    """

    statistic_names = ("mean", "std")

    def _statistics(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        return inputs.mean(dim=0), inputs.std(dim=0, correction=0)
