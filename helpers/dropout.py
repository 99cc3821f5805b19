"""Inverted dropout from scratch, and the overfitting experiment that shows what it buys.

During training every unit is dropped (set to zero) with probability `p` and the
units that survive are scaled by `1 / (1 - p)`, so that each unit's expected
value is unchanged; at inference every unit takes part and nothing is scaled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.seed_spread import plot_curves, plot_final_accuracies, stack_metric
from helpers.seeding import seed_everything
from helpers.training import History, evaluate, fit


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


def _check_tensor(x: torch.Tensor) -> None:
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise TypeError(f"dropout needs a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}; "
                        "convert it first, e.g. x.float()")


def dropout_mask(x: torch.Tensor, p: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """A mask shaped like `x`: ones (kept, probability `1 - p`) and zeros (dropped, probability `p`)."""
    p = check_drop_probability(p)
    _check_tensor(x)
    return torch.empty_like(x).bernoulli_(1 - p, generator=generator)


def dropout(
    x: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout: in training, zero each entry with probability `p` and scale the rest by `1 / (1 - p)`.

    With `training=False` (inference) `x` is returned unchanged. With the same
    random state this draws exactly the mask `nn.Dropout` draws on the CPU.
    """
    p = check_drop_probability(p)
    _check_tensor(x)
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


def dropout_mlp(p: float, *, hidden: int = 256, layers: int = 2) -> nn.Sequential:
    """An MNIST classifier: `layers` hidden ReLU layers of width `hidden`, each followed by `Dropout(p)`."""
    if any(isinstance(value, bool) or not isinstance(value, int) or value < 1 for value in (layers, hidden)):
        raise ValueError(f"layers and hidden must be positive integers (at least one hidden layer of at least "
                         f"one unit), got layers={layers!r}, hidden={hidden!r}")
    blocks: list[nn.Module] = [nn.Flatten()]
    width = 28 * 28
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU(), Dropout(p)]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, 10))


def overfitting_run(
    p: float,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    *,
    seed: int,
    epochs: int = 30,
    hidden: int = 256,
    lr: float = 1e-3,
) -> History:
    """Train `dropout_mlp(p)` from seed `seed` with Adam; the test set is the `History`'s validation set.

    After every epoch the training loss and accuracy are measured again in eval
    mode (every unit present), so train and test numbers compare like with like.
    """
    seed_everything(seed)
    model = dropout_mlp(p, hidden=hidden)

    def remeasure_train(_epoch: int, history: History) -> None:
        history.train_loss[-1], history.train_accuracy[-1] = evaluate(model, *train)

    return fit(model, train, val=test, epochs=epochs, lr=lr, seed=seed, on_epoch=remeasure_train)


def generalization_gaps(runs: Mapping[float, Sequence[History]]) -> dict[str, torch.Tensor]:
    """Final training accuracy minus final test accuracy, one value per seed, for each drop probability."""
    return {
        f"p = {p:g}": stack_metric(histories, "train_accuracy")[:, -1] - stack_metric(histories, "val_accuracy")[:, -1]
        for p, histories in runs.items()
    }


def plot_dropout_mask(p: float, seed: int = 0, *, batch: int = 8, units: int = 16) -> Figure:
    """One batch of activations, the dropout mask drawn for it, and the scaled result, side by side."""
    generator = torch.Generator().manual_seed(seed)
    activations = torch.rand(batch, units, generator=generator) * 2
    mask = dropout_mask(activations, p, generator=generator)
    output = activations * mask / (1 - p)
    figure, axes = plt.subplots(1, 3, figsize=(9, 2.9), layout="constrained")
    top = 2 / (1 - p)  # one colour scale for input and output, so the rescaled survivors stand out
    panels = [
        (activations, "activations $h$", "viridis", top),
        (mask, f"mask $m$: {int((mask == 0).sum())} of {mask.numel()} dropped (black)", "gray", 1),
        (output, r"output $h \cdot m / (1-p)$", "viridis", top),
    ]
    for ax, (values, title, cmap, vmax) in zip(axes, panels):
        image = ax.imshow(values.numpy(), cmap=cmap, vmin=0, vmax=vmax)
        ax.set(title=title, xlabel="unit", ylabel="sample in batch", xticks=[], yticks=[])
    figure.colorbar(image, ax=axes[[0, 2]], shrink=0.8, label="value")
    figure.suptitle(f"Dropout with p = {p:g}: survivors are scaled by 1/(1-p) = {1 / (1 - p):.2f}")
    return figure


def plot_overfitting(runs: Mapping[float, Sequence[History]]) -> Figure:
    """Accuracy and loss per epoch (mean and range over seeds) for each drop probability, and the final gaps."""
    figure, (accuracy, loss, gaps) = plt.subplots(1, 3, figsize=(13, 3.8), width_ratios=[3, 3, 2], layout="constrained")
    for axis, metric in ((accuracy, "accuracy"), (loss, "loss")):
        curves = {
            f"p = {p:g}, {split}": stack_metric(histories, f"{key}_{metric}")
            for p, histories in runs.items()
            for split, key in (("train", "train"), ("test", "val"))
        }
        plot_curves(curves, ylabel=f"{metric} (eval mode)", title=f"{metric.capitalize()} per epoch", ax=axis)
        for index, (line, band) in enumerate(zip(axis.get_lines(), axis.collections)):
            colour = f"C{index // 2}"  # one colour per p, as in the gap panel; train dashed, test solid
            line.set(color=colour, linestyle="--" if index % 2 == 0 else "-")
            band.set_color(colour)
        axis.legend(fontsize=8)
    loss.set_yscale("log")
    plot_final_accuracies(generalization_gaps(runs), title="Final train - test accuracy gap", ax=gaps)
    gaps.set_xlabel("gap (percentage points): dots are seeds")
    return figure
