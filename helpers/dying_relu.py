"""Dying ReLU, measured: a one-hidden-layer MLP whose hidden units are tracked while it trains."""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from helpers.activations import get_activation, inactive_unit_fraction, torch_activation
from helpers.seeding import seed_everything
from helpers.training import evaluate, train_epoch


@dataclass
class HiddenUnitTrace:
    """What happened to the hidden layer of one run, measured before training and after every epoch."""

    label: str
    inactive: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    prelu_alpha: list[float] = field(default_factory=list)


def one_hidden_layer_mlp(activation: str, alpha: float | None = None, *, hidden: int = 64) -> nn.Sequential:
    """784 -> `hidden` -> 10, with PyTorch's module for `activation` in between."""
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be a positive integer (the number of hidden units), got {hidden!r}")
    return nn.Sequential(nn.Linear(28 * 28, hidden), torch_activation(activation, alpha), nn.Linear(hidden, 10))


def track_hidden_units(
    activation: str,
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    *,
    alpha: float | None = None,
    bias_shift: float = 0.0,
    lr: float = 0.1,
    epochs: int = 5,
    seed: int = 0,
) -> HiddenUnitTrace:
    """Train `one_hidden_layer_mlp` with plain SGD and trace its hidden layer.

    `bias_shift` is subtracted from every hidden bias before training, pushing
    units into their negative region; `lr` too large does the same through a
    few violent updates. Inputs are flattened images, shape (N, 784).
    """
    seed_everything(seed)
    model = one_hidden_layer_mlp(activation, alpha)
    with torch.no_grad():
        model[0].bias -= bias_shift
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    spec = get_activation(activation)
    label = spec.title + (f" (alpha = {alpha:g})" if alpha is not None else "")
    trace = HiddenUnitTrace(label)
    for epoch in range(epochs + 1):
        if epoch:
            train_epoch(model, *train, optimizer, generator=generator)
        with torch.no_grad():
            trace.inactive.append(inactive_unit_fraction(model[0](test[0])))
        trace.accuracy.append(evaluate(model, *test)[1])
        if activation == "prelu":
            trace.prelu_alpha.append(model[1].weight.item())
    return trace


def plot_traces(traces: list[HiddenUnitTrace], title: str) -> Figure:
    """Fraction of hidden units stuck in their negative region, and test accuracy, epoch by epoch."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for trace, marker, size in zip(traces, "osD^v<>p", range(9, 0, -1)):
        epochs = range(len(trace.inactive))  # distinct markers, shrinking, keep overlapping runs visible
        left.plot(epochs, trace.inactive, marker=marker, ms=size, label=trace.label)
        right.plot(epochs, trace.accuracy, marker=marker, ms=size, label=trace.label)
    left.set(xlabel="epoch", ylabel="fraction of hidden units", ylim=(-0.03, 1.03),
             title="Units whose input is negative for every test image")
    right.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title="Test accuracy")
    right.axhline(0.1, color="grey", ls=":", lw=1)
    right.legend(loc="lower right", fontsize="small")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    return figure
