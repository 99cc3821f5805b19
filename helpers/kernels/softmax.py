"""Softmax from scratch: the textbook formula, the numerically stable one, and its link to cross-entropy."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from helpers.core.checks import checked


def check_temperature(temperature: float, **_) -> None:
    """A finite temperature above zero."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")


def naive_softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """exp(z_i) / sum_j exp(z_j), exactly as written: overflows to nan once a logit passes about 88 (float32)."""
    exps = torch.exp(logits)
    return exps / exps.sum(dim=dim, keepdim=True)


@checked(check_temperature)
def softmax(logits: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    """Numerically stable softmax of `logits / temperature` along `dim`.

    Subtracting the largest logit first changes nothing mathematically (the
    factor exp(-max) cancels) but keeps every exponent <= 0, so nothing overflows.
    """
    scaled = logits / temperature
    shifted = scaled - scaled.amax(dim=dim, keepdim=True)
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=dim, keepdim=True)


def log_softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(z)) computed as z - max - log(sum(exp(z - max))), stable for any logits."""
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def check_logits_and_targets(logits: Tensor, targets: Tensor) -> None:
    """Logits of shape (batch, classes) and one int64 class index per row."""
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (batch, classes), got {tuple(logits.shape)}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(
            f"targets must have shape ({logits.shape[0]},), one class index per row, got {tuple(targets.shape)}"
        )
    if targets.dtype != torch.long or targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError(f"targets must be int64 class indices in [0, {logits.shape[1]}), got {targets}")


@checked(check_logits_and_targets)
def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean over the batch of -log softmax(z)[target]: the loss `nn.CrossEntropyLoss` computes from logits."""
    return -log_softmax(logits).gather(1, targets.unsqueeze(1)).mean()
