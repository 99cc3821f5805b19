"""Softmax from scratch: the textbook formula, the numerically stable one, and its link to cross-entropy."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor


def _check_temperature(temperature: float) -> None:
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")


def naive_softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """exp(z_i) / sum_j exp(z_j), exactly as written: overflows to nan once a logit passes about 88 (float32)."""
    exps = torch.exp(logits)
    return exps / exps.sum(dim=dim, keepdim=True)


def softmax(logits: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    """Numerically stable softmax of `logits / temperature` along `dim`.

    Subtracting the largest logit first changes nothing mathematically (the
    factor exp(-max) cancels) but keeps every exponent <= 0, so nothing overflows.
    """
    _check_temperature(temperature)
    scaled = logits / temperature
    shifted = scaled - scaled.amax(dim=dim, keepdim=True)
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=dim, keepdim=True)


def log_softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(z)) computed as z - max - log(sum(exp(z - max))), stable for any logits."""
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean over the batch of -log softmax(z)[target]: the loss `nn.CrossEntropyLoss` computes from logits."""
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (batch, classes), got {tuple(logits.shape)}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"targets must have shape ({logits.shape[0]},), one class index per row, got {tuple(targets.shape)}")
    if targets.dtype != torch.long or targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError(f"targets must be int64 class indices in [0, {logits.shape[1]}), got {targets}")
    return -log_softmax(logits).gather(1, targets.unsqueeze(1)).mean()


def plot_softmax(logits: Tensor, temperature: float = 1.0, *, class_names: list[str] | None = None) -> Figure:
    """Logits and their softmax probabilities side by side, with the sum and the argmax in the title."""
    if logits.dim() != 1 or len(logits) == 0:
        raise ValueError(f"logits must be a non-empty 1-D tensor, one score per class; got shape {tuple(logits.shape)}")
    if class_names is not None and len(class_names) != len(logits):
        raise ValueError(f"{len(class_names)} class names for {len(logits)} logits: give one name per class")
    probabilities = softmax(logits, temperature=temperature)
    values, probabilities = logits.tolist(), probabilities.tolist()
    names = class_names or [f"class {i}" for i in range(len(logits))]
    top = max(range(len(values)), key=values.__getitem__)
    colours = ["C3" if i == top else "C0" for i in range(len(values))]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    left.bar(names, values, color=colours)
    left.axhline(0, color="grey", lw=0.6)
    left.set(title="Logits z", ylim=(-5, 5))
    right.bar(names, probabilities, color=colours)
    right.set(
        title=f"softmax(z / T) at T = {temperature:g}\nsum = {sum(probabilities):.3f}, "
        f"argmax = {names[max(range(len(names)), key=probabilities.__getitem__)]}",
        ylim=(0, 1),
    )
    for axis in (left, right):
        axis.tick_params(axis="x", labelrotation=30)
        axis.grid(axis="y", alpha=0.3)
    return figure
