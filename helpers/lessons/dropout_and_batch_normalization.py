"""Notebook 06, dropout and batch normalization: what each buys, measured on MNIST, and pictures of both.

The kernels themselves (`Dropout`, `BatchNorm`) live in `helpers.kernels`; here are
the overfitting experiment that dropout answers, the deep sigmoid network that batch
normalization rescues, and the figures that show both at work.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from torch import nn

from helpers.core.data import IMAGE_PIXELS
from helpers.core.diagnostics import saturated_fraction, train_monitored
from helpers.core.models import mlp
from helpers.core.seed_spread import plot_curves, plot_final_accuracies, stack_metric
from helpers.core.seeding import seed_everything
from helpers.core.training import History, Run, evaluate, fit
from helpers.kernels.batch_norm import BatchNorm
from helpers.kernels.dropout import dropout_mask


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
    """Train a 784-`hidden`-`hidden`-10 ReLU `mlp` with `Dropout(p)` from seed `seed` with Adam.

    The test set is the `History`'s validation set.

    After every epoch the training loss and accuracy are measured again in eval
    mode (every unit present), so train and test numbers compare like with like.
    """
    seed_everything(seed)
    model = mlp([IMAGE_PIXELS, hidden, hidden, 10], dropout=p)

    def remeasure_train(_epoch: int, history: History) -> None:
        remeasured = evaluate(model, *train)
        history.train_loss[-1], history.train_accuracy[-1] = remeasured.loss, remeasured.accuracy

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
    figure = Figure(figsize=(9, 2.9), layout="constrained")
    axes = figure.subplots(1, 3)
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
    figure = Figure(figsize=(13, 3.8), layout="constrained")
    (accuracy, loss, gaps) = figure.subplots(1, 3, width_ratios=[3, 3, 2])
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


@torch.no_grad()
def plot_normalization_steps(gamma: float, beta: float, *, seed: int = 0) -> Figure:
    """One unit's inputs to a sigmoid over a batch: as they come, standardized, then scaled and shifted.

    `gamma` and `beta` are the scale and shift; the legend gives the fraction of
    each version that falls where the sigmoid is saturated.
    """
    generator = torch.Generator().manual_seed(seed)
    raw = 4 + 1.5 * torch.randn(256, 1, generator=generator)  # a unit pushed deep into saturation
    layer = BatchNorm(1)
    normalized = layer(raw)
    layer.weight.fill_(gamma)
    layer.bias.fill_(beta)
    steps = {"as they come": raw, "standardized": normalized, r"$\gamma\,\hat{x} + \beta$": layer(raw)}
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    axis = figure.subplots()
    bins = torch.linspace(-12, 12, 97).numpy()
    for colour, (name, values) in enumerate(steps.items()):
        saturated = saturated_fraction(nn.Sigmoid(), values)
        axis.hist(
            values.flatten().numpy(),
            bins=bins,
            histtype="step",
            lw=2,
            ls="--" if colour == 2 else "-",
            color=f"C{colour}",
            label=f"{name}: {saturated:.0%} saturated",
        )
    curve = axis.twinx()
    x = torch.linspace(-12, 12, 241)
    curve.plot(x, torch.sigmoid(x), color="k", lw=1.5)
    curve.set(ylabel="sigmoid(x)", ylim=(-0.02, 1.02))
    axis.set(
        xlabel="input x to the sigmoid",
        ylabel="samples in the batch",
        xlim=(-12, 12),
        title=rf"Batch normalization of one unit, $\gamma$ = {gamma:g}, $\beta$ = {beta:g}",
    )
    axis.legend(loc="upper left", fontsize=8)
    return figure


def train_deep_sigmoid(
    batch_norm: bool,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    *,
    seed: int,
    depth: int = 8,
    width: int = 64,
    lr: float = 0.2,
    epochs: int = 12,
) -> Run:
    """Train a deep sigmoid `mlp`, with or without batch normalization, and return its `Run` (with the model).

    The weights come from `seed`; training is `train_monitored`'s plain SGD, with a
    `LayerMonitor` recording every layer at every step.
    """
    seed_everything(seed)
    model = mlp([IMAGE_PIXELS, *[width] * depth, 10], "sigmoid", batch_norm=batch_norm)
    label = "with batch normalization" if batch_norm else "without batch normalization"
    return train_monitored(label, model, train, test, lr=lr, epochs=epochs, seed=seed)


def plot_layer_statistics(runs: Sequence[Run]) -> Figure:
    """Every hidden layer's activations, step by step, one column per run.

    Top: their mean. Bottom (log scale): their standard deviation across the images
    of the batch, per unit, averaged over the units (the diagnostics' `spread`).
    """
    figure = Figure(figsize=(5 * len(runs), 5.5), layout="constrained")
    axes = figure.subplots(2, len(runs), sharex=True, sharey="row", squeeze=False)
    for column, run in enumerate(runs):
        layers = len(run.monitor.latest) - 1  # the output layer has no activation
        for row, field in enumerate(("mean", "spread")):
            for k in range(layers):
                axes[row, column].plot(
                    run.monitor.series(field, layer=k),
                    lw=1,
                    color=colormaps["viridis"](k / max(layers - 1, 1)),
                    label=f"layer {k + 1}",
                )
            axes[row, column].grid(alpha=0.3)
        axes[0, column].set_title(run.label)
        axes[1, column].set(xlabel="training step", yscale="log")
    axes[0, 0].set_ylabel("mean of activations")
    axes[1, 0].set_ylabel("std across the batch")
    axes[0, -1].legend(fontsize="x-small", ncol=2)
    return figure


def accuracy_in_batches(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int, train_mode: bool
) -> float:
    """Accuracy of predictions made `batch_size` samples at a time, with the model in train or eval mode.

    Works on a copy of `model`, so predicting in train mode cannot overwrite the
    original's running statistics.
    """
    return evaluate(copy.deepcopy(model), images, labels, batch_size=batch_size, train_mode=train_mode).accuracy
