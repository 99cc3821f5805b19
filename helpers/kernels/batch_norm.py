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


class BatchNorm(nn.Module):
    """Batch normalization over the features of `(batch, num_features)` inputs; a stand-in for `nn.BatchNorm1d`.

    `momentum` follows PyTorch's convention: it is the weight of the *new* batch,
    `running = (1 - momentum) * running + momentum * batch_statistic`. The running
    variance is updated with the unbiased batch variance, the normalization uses the
    biased one, exactly as PyTorch does. Parameter and buffer names match
    `nn.BatchNorm1d`, so state dicts can be exchanged in both directions.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        check_positive_int("num_features", num_features, " (the width of the layer before)")
        if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0:
            raise ValueError(
                f"eps must be a small positive number that keeps the division safe, e.g. 1e-5; got {eps!r}"
            )
        if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0 <= momentum <= 1:
            raise ValueError(
                f"momentum is the weight of each new batch in the running statistics and must lie "
                f"in [0, 1]; got {momentum!r} (PyTorch's default is 0.1)"
            )
        self.num_features, self.eps, self.momentum = num_features, float(eps), float(momentum)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if self.training:
            mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
            self._update_running_statistics(mean.detach(), var.detach(), batch_size=len(x))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias

    @torch.no_grad()
    def _update_running_statistics(self, mean: torch.Tensor, var: torch.Tensor, *, batch_size: int) -> None:
        unbiased_var = var * batch_size / (batch_size - 1)
        self.running_mean.lerp_(mean, self.momentum)
        self.running_var.lerp_(unbiased_var, self.momentum)
        self.num_batches_tracked += 1

    def _check_input(self, x: torch.Tensor) -> None:
        if not torch.is_tensor(x) or x.dim() != 2:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(
                f"BatchNorm expects a 2-D tensor (batch, {self.num_features}), got {shape}; "
                "flatten images first, e.g. with nn.Flatten()"
            )
        if x.dtype != self.weight.dtype:
            raise TypeError(
                f"BatchNorm's weights are {self.weight.dtype} but the input is {x.dtype}; convert it "
                f"first, e.g. x.float() (integer pixels: x.float() / 255), or the layer with .double()"
            )
        if len(x) == 0:
            raise ValueError("BatchNorm got an empty batch (0 samples); pass at least one sample")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm was built for {self.num_features} features but got {x.shape[1]}; "
                "num_features must equal the width of the layer before it"
            )
        if self.training and len(x) < 2:
            raise ValueError(
                "BatchNorm in training mode needs at least 2 samples per batch (one sample has no "
                "spread to normalize by); to predict single samples call model.eval() first"
            )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"
