"""Batch normalization from scratch, for 2-D inputs (batch, features).

In training each feature is standardized with the mean and variance of the current
mini-batch, then scaled by a learnable `weight` (gamma) and shifted by a learnable
`bias` (beta). Exponential moving averages of the batch statistics are kept as
running statistics, and inference (`model.eval()`) uses those instead, so that a
prediction never depends on the other samples in its batch.
"""

from __future__ import annotations

from numbers import Real

import torch
from torch import nn

from helpers.core.checks import check_positive_int


def check_batch_norm_settings(num_features: int, eps: float, momentum: float) -> tuple[int, float, float]:
    """Return `(num_features, eps, momentum)` if they are valid settings of a `BatchNorm`; else raise `ValueError`."""
    check_positive_int("num_features", num_features, " (the width of the layer before)")
    if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0:
        raise ValueError(f"eps must be a small positive number that keeps the division safe, e.g. 1e-5; got {eps!r}")
    if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0 <= momentum <= 1:
        raise ValueError(
            f"momentum is the weight of each new batch in the running statistics and must lie "
            f"in [0, 1]; got {momentum!r} (PyTorch's default is 0.1)"
        )
    return num_features, float(eps), float(momentum)


def check_batch_norm_input(layer: nn.Module, x: torch.Tensor) -> None:
    """Raise an error that says how to fix it unless `x` is a batch that `layer` (a `BatchNorm`) can normalize."""
    if not torch.is_tensor(x) or x.dim() != 2:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(
            f"BatchNorm expects a 2-D tensor (batch, {layer.num_features}), got {shape}; "
            "flatten images first, e.g. with nn.Flatten()"
        )
    if x.dtype != layer.weight.dtype:
        raise TypeError(
            f"BatchNorm's weights are {layer.weight.dtype} but the input is {x.dtype}; convert it "
            f"first, e.g. x.float() (integer pixels: x.float() / 255), or the layer with .double()"
        )
    if len(x) == 0:
        raise ValueError("BatchNorm got an empty batch (0 samples); pass at least one sample")
    if x.shape[1] != layer.num_features:
        raise ValueError(
            f"BatchNorm was built for {layer.num_features} features but got {x.shape[1]}; "
            "num_features must equal the width of the layer before it"
        )
    if layer.training and len(x) < 2:
        raise ValueError(
            "BatchNorm in training mode needs at least 2 samples per batch (one sample has no "
            "spread to normalize by); to predict single samples call model.eval() first"
        )


class BatchNorm(nn.Module):
    """Batch normalization of `(batch, num_features)` inputs, computing what `nn.BatchNorm1d` computes.

    `momentum` is the weight of each new batch in the running statistics. Parameter and
    buffer names match `nn.BatchNorm1d`, so state dicts can be exchanged both ways.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = check_batch_norm_settings(num_features, eps, momentum)
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma, the learnable scale
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta, the learnable shift
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_batch_norm_input(self, x)
        if self.training:  # standardize with this batch's statistics, and fold them into the running ones
            mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
            with torch.no_grad():
                n = len(x)
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / (n - 1), self.momentum)  # unbiased, as PyTorch keeps it
                self.num_batches_tracked += 1
        else:  # inference: the running statistics, the same for every batch
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"
