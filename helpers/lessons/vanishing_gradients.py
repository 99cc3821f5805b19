"""Notebook 03, vanishing gradients: stacked activations going forward, shrinking slopes going backward,
deep MLPs trained side by side while the diagnostics (`helpers.core.diagnostics`) watch every layer, inactive units
counted on the training set, and the exercise checker `check_update_ratio`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator
from torch import Tensor

from helpers.core.checks import check_positive_int
from helpers.core.data import IMAGE_PIXELS
from helpers.core.diagnostics import FIELDS, RECTIFYING, LayerStats, activation_outputs, dead_fraction, diagnose
from helpers.core.exercises import Case, Feedback, check_cases
from helpers.core.models import mlp
from helpers.core.seeding import seed_everything
from helpers.core.training import Run, fit
from helpers.kernels.activations import activate, get_activation

SIGMOID_PEAK_SLOPE = 0.25


def deep_sizes(depth: int, width: int) -> list[int]:
    """The layer sizes of a deep, narrow MNIST classifier for `mlp`: 784, then `depth` times `width`, then 10."""
    check_positive_int("depth", depth, " (a number of hidden layers)")
    return [IMAGE_PIXELS, *[width] * depth, 10]


def stack_activation(name: str, x: Tensor, depth: int) -> Tensor:
    """Apply the activation `name` `depth` times in a row: row k of the result is the output after k layers.

    Row 0 is `x` itself, so the result has shape (depth + 1, *x.shape). Each "layer"
    is the bare activation (weight 1, no bias), the chain the lecture describes.
    """
    check_positive_int("depth", depth, " (a number of layers)")
    outputs = [x]
    for _ in range(depth):
        outputs.append(activate(name, outputs[-1]))
    return torch.stack(outputs)


def sigmoid_fixed_point(*, tol: float = 1e-12, max_steps: int = 200) -> float:
    """The one x with sigmoid(x) = x, found by applying the sigmoid until nothing changes (about 0.659)."""
    x = 0.0
    for _ in range(max_steps):
        x, previous = float(activate("sigmoid", torch.tensor(x, dtype=torch.float64))), x
        if abs(x - previous) < tol:
            return x
    raise RuntimeError(f"the iteration did not settle to within {tol} in {max_steps} steps; raise max_steps")


def chain_slope(depth: int, x: Tensor) -> Tensor:
    """d/dx of `depth` stacked sigmoids at every entry of `x`, computed by autograd: what reaches layer 1."""
    x = x.detach().to(torch.float64).requires_grad_(True)
    stack_activation("sigmoid", x, depth)[-1].sum().backward()
    return x.grad


def plot_forward_collapse(depth: int = 5, span: float = 10.0) -> Figure:
    """Left: the output of 1..depth stacked sigmoids against the input. Right: the cobweb that explains it."""
    x = torch.linspace(-span, span, 401)
    stack, point = stack_activation("sigmoid", x, depth), sigmoid_fixed_point()
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    (left, right) = figure.subplots(1, 2)
    for k in range(1, depth + 1):
        left.plot(
            x, stack[k], color=colormaps["viridis"]((k - 1) / max(depth - 1, 1)), label=f"{k} layer{'s' * (k > 1)}"
        )
    left.axhline(point, color="k", ls=":", lw=1, label=f"fixed point {point:.3f}")
    left.set(xlabel="input x", ylabel="output", ylim=(-0.02, 1.02), title="Stacked sigmoids flatten every input")
    left.legend(fontsize="small", loc="lower right")
    grid = torch.linspace(-1.5, 1.5, 200)
    right.plot(grid, activate("sigmoid", grid), color="C0", label="sigmoid(x)")
    right.plot(grid, grid, color="grey", lw=1, label="y = x")
    for start, color in ((-1.4, "C3"), (1.4, "C2")):
        v = stack_activation("sigmoid", torch.tensor(start), depth).numpy()
        # (v0, v0) -> (v0, v1) -> (v1, v1) -> (v1, v2) ...: up to the curve, across to the diagonal
        right.plot(
            np.repeat(v[:-1], 2),
            np.concatenate([[v[0]], np.repeat(v[1:], 2)[:-1]]),
            color=color,
            lw=1,
            label=f"start at {start:g}",
        )
    right.plot(point, point, "ko", ms=5)
    right.set(
        xlabel="input of a layer",
        ylabel="output of the layer",
        title="Each layer pulls values toward 0.659",
        xlim=(-1.5, 1.5),
        ylim=(-0.1, 1.1),
    )
    right.legend(fontsize="small", loc="upper left")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    return figure


def _log_y(axis: Axes) -> None:
    """A log-scale y axis with major ticks only, labelled 1e-6 rather than typeset as a power of ten.

    Minor ticks and typeset labels take most of an explorer frame's drawing time. Only for axes
    that span several powers of ten, as every one in this lesson does: with major ticks alone, a
    narrower axis would show one label or none.
    """
    axis.set_yscale("log")
    axis.yaxis.set_minor_locator(NullLocator())
    axis.yaxis.set_major_formatter(FuncFormatter(lambda power, _position: f"1e{round(math.log10(power))}"))


def plot_depth_distribution(activation: str, depth: int, span: float = 10.0) -> Figure:
    """Histogram of what `depth` stacked copies of `activation` make of inputs spread evenly over [-span, span]."""
    x = (torch.arange(4000) + 0.5) / 4000 * 2 * span - span  # the centres of 4000 equal slices of [-span, span]
    output = stack_activation(activation, x, depth)[-1]
    figure = Figure(figsize=(8, 3))
    axis = figure.subplots()
    figure.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.9)  # fixed margins: quicker than a layout engine
    for values, bins, color, label in ((x, 100, "lightgrey", "inputs"), (output, 400, "C0", f"after {depth} layers")):
        counts, edges = np.histogram(values.numpy(), bins=bins, range=(-span, span), density=True)
        axis.stairs(counts, edges, fill=True, color=color, label=label)
    _log_y(axis)
    axis.set(
        xlabel="value",
        ylabel="density (log)",
        ylim=(1e-3, 1e3),
        title=f"{depth} stacked {get_activation(activation).title} layers: outputs span "
        f"[{output.min().item() + 0.0:.3g}, {output.max().item():.3g}]",
    )
    axis.legend(loc="upper right")
    axis.grid(alpha=0.3)
    return figure


def plot_gradient_bound(max_depth: int = 12) -> Figure:
    """The bound 0.25^n on the slope of n stacked sigmoids next to the largest slope autograd measures."""
    check_positive_int("max_depth", max_depth, " (a number of layers)")
    depths = np.arange(1, max_depth + 1)
    x = torch.linspace(-10, 10, 4001)
    measured = [chain_slope(int(n), x).max().item() for n in depths]
    figure = Figure(figsize=(6.5, 3.6), layout="constrained")
    axis = figure.subplots()
    axis.plot(depths, SIGMOID_PEAK_SLOPE**depths, "k--", label="bound $0.25^n$")
    axis.plot(depths, measured, "o-", color="C3", label="measured: largest slope over $x \\in [-10, 10]$")
    _log_y(axis)
    axis.set(
        xlabel="number of stacked sigmoids n",
        ylabel="slope reaching layer 1",
        title="The gradient shrinks geometrically with depth",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


def reports_at_init(
    batch: tuple[Tensor, Tensor],
    activations: Sequence[str],
    *,
    depth: int,
    init: str,
    width: int = 64,
    seed: int = 0,
) -> dict[str, list[LayerStats]]:
    """`diagnose` a freshly built deep `mlp` for each activation; the same seed gives every net the same weights."""
    reports = {}
    for activation in activations:
        seed_everything(seed)
        reports[activation] = diagnose(mlp(deep_sizes(depth, width), activation, init=init), *batch)
    return reports


def plot_per_layer(
    reports: Mapping[str, Sequence[LayerStats]], field: str, ax: Axes, *, ylabel: str, title: str = ""
) -> Figure:
    """`field` of every layer, one line per report (e.g. per activation), on a log scale, drawn on `ax`."""
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r}; choose one of {', '.join(FIELDS)}")
    for label, report in reports.items():
        values = np.array([getattr(row, field) for row in report], dtype=float)  # None -> nan, not drawn
        ax.plot(range(1, len(report) + 1), values, "o-", ms=4, label=label)
    _log_y(ax)
    ax.set(xlabel="layer", ylabel=ylabel, title=title)
    if len(reports) > 1:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax.figure


def plot_activation_histograms(outputs: Mapping[str, Tensor], ax: Axes, *, title: str = "", lines: int = 4) -> Figure:
    """Histograms of up to `lines` hidden layers' outputs, evenly spaced from the first to the last, drawn on `ax`."""
    values = list(outputs.values())
    low, high = min(v.min().item() for v in values), max(v.max().item() for v in values)
    for k in np.unique(np.linspace(0, len(values) - 1, lines).round().astype(int)):
        counts, edges = np.histogram(values[k].flatten().numpy(), bins=50, range=(low, high), density=True)
        ax.stairs(counts, edges, color=colormaps["viridis"](k / max(len(values) - 1, 1)), label=f"layer {k + 1}")
    _log_y(ax)
    ax.set(xlabel="activation value", ylabel="density (log)", title=title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax.figure


def plot_deep_mlp_at_init(
    batch: tuple[Tensor, Tensor], *, depth: int, activation: str, init: str, width: int = 64, seed: int = 0
) -> Figure:
    """A fresh deep `mlp` on one batch: per-layer spread and gradient norm, and its activation histograms."""
    seed_everything(seed)
    model = mlp(deep_sizes(depth, width), activation, init=init)
    report, outputs = {activation: diagnose(model, *batch)}, activation_outputs(model, batch[0])
    figure = Figure(figsize=(12, 3.3))
    (spread, gradient, histogram) = figure.subplots(1, 3)
    figure.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.83, wspace=0.3)
    plot_per_layer(report, "spread", spread, ylabel="spread across images", title="Forward: does the input matter?")
    plot_per_layer(report, "grad_norm", gradient, ylabel="weight-gradient norm", title="Backward: gradient per layer")
    spread.set_ylim(1e-12, 1)  # fixed scales, so that frames can be compared
    gradient.set_ylim(1e-20, 1e2)
    plot_activation_histograms(outputs, histogram, title="Activations")
    figure.suptitle(f"{depth} hidden {activation} layers, {init} initialization")
    return figure


def plot_training(runs: Sequence[Run]) -> Figure:
    """Training loss and validation accuracy per epoch, and the first layer's gradient norm at every step."""
    figure = Figure(figsize=(12, 3.5), layout="constrained")
    (loss, accuracy, gradient) = figure.subplots(1, 3)
    for run in runs:
        epochs = range(1, run.history.epochs + 1)
        loss.plot(epochs, run.history.train_loss, "o-", label=run.label)
        accuracy.plot(epochs, run.history.val_accuracy, "o-", label=run.label)
        gradient.plot(run.monitor.series("grad_norm", layer=0), lw=1, label=run.label)
    _log_y(gradient)
    loss.set(xlabel="epoch", ylabel="cross-entropy", title="Training loss")
    accuracy.axhline(0.1, color="grey", ls=":", lw=1)
    accuracy.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title="Validation accuracy (chance = 0.1)")
    gradient.set(xlabel="training step", ylabel="weight-gradient norm", title="First layer's gradient")
    for axis in (loss, accuracy, gradient):
        axis.grid(alpha=0.3)
    figure.legend(*loss.get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    return figure


def _plot_layers_over_steps(runs: Sequence[Run], field: str, ylabel: str, *, log: bool) -> Figure:
    figure = Figure(figsize=(5 * len(runs), 3.5), layout="constrained")
    axes = figure.subplots(1, len(runs), sharey=True, squeeze=False)
    for axis, run in zip(axes[0], runs):
        layers = len(run.monitor.steps[-1])
        for k, row in enumerate(run.monitor.steps[-1]):
            series = np.array(run.monitor.series(field, layer=k), dtype=float)  # None -> nan, not drawn
            if not np.isnan(series).all():
                label = f"layer {k + 1}" if row.activation else "output layer"
                axis.plot(series, lw=1, color=colormaps["viridis"](k / max(layers - 1, 1)), label=label)
        axis.set(xlabel="training step", title=run.label)
        if log:
            _log_y(axis)
        axis.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    handles, labels = max((axis.get_legend_handles_labels() for axis in axes[0]), key=lambda h: len(h[0]))
    if handles:
        axes[0, -1].legend(handles, labels, fontsize="x-small", ncol=2, loc="best")
    return figure


def plot_update_ratios(runs: Sequence[Run]) -> Figure:
    """Update-to-weight ratio of every layer at every step, with the 1e-3 rule of thumb as a reference."""
    figure = _plot_layers_over_steps(runs, "update_to_weight", "|update| / |weight|", log=True)
    for axis in figure.axes:
        axis.axhline(1e-3, color="k", ls="--", lw=1.5)
        axis.annotate("1e-3", (0, 1e-3), xytext=(2, 3), textcoords="offset points")
    return figure


@torch.no_grad()
def inactive_per_layer(model: torch.nn.Module, images: Tensor) -> list[float]:
    """For each ReLU-like layer of `model`, the fraction of its units whose input is <= 0 for every image in `images`.

    The test is `inactive_unit_fraction` (via `dead_fraction`); given the training set,
    a ReLU unit it counts is dead, a Leaky ReLU unit only inactive.
    """
    fractions: list[float] = []
    modules = [m for m in model.modules() if isinstance(m, RECTIFYING)]
    if not modules:
        raise ValueError("the model has no ReLU-like activation (ReLU, Leaky ReLU, PReLU, ELU) whose units to count")
    hooks = [
        m.register_forward_hook(lambda m, inputs, _out: fractions.append(dead_fraction(m, inputs[0]))) for m in modules
    ]
    try:
        model(images)
    finally:
        for hook in hooks:
            hook.remove()
    return fractions


@dataclass
class InactiveRun:
    """A training run and, before training and after every epoch, `inactive_per_layer` on the training images."""

    run: Run
    inactive: list[list[float]]  # [epoch][hidden layer]; epoch 0 is before training


def train_counting_inactive(
    label: str,
    model: torch.nn.Module,
    train: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor],
    *,
    lr: float,
    epochs: int,
    seed: int = 0,
) -> InactiveRun:
    """Train `model` with plain SGD and count its inactive units on all of `train` before and after every epoch."""
    counts = [inactive_per_layer(model, train[0])]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = fit(
        model,
        train,
        epochs=epochs,
        val=val,
        optimizer=optimizer,
        seed=seed,
        on_epoch=lambda _epoch, _history: counts.append(inactive_per_layer(model, train[0])),
    )
    return InactiveRun(Run(model, history, label), counts)


def plot_inactive_units(runs: Sequence[InactiveRun]) -> Figure:
    """Per run, the fraction of each hidden layer's units whose input is <= 0 on every training image, by epoch."""
    figure = Figure(figsize=(4 * len(runs), 3.3), layout="constrained")
    axes = figure.subplots(1, len(runs), sharey=True, squeeze=False)[0]
    for axis, run in zip(axes, runs):
        layers = np.array(run.inactive).T  # [layer][epoch]
        for k, series in enumerate(layers):
            axis.plot(
                series, "o-", ms=3, color=colormaps["viridis"](k / max(len(layers) - 1, 1)), label=f"layer {k + 1}"
            )
        axis.set(xlabel="epoch", title=run.run.label, ylim=(-0.02, 1.02))
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of units")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    return figure


def check_update_ratio(answer: Callable[[Tensor, Tensor], float]) -> Feedback:
    """Feedback on a student's `my_update_ratio(before, after)`: |after - before| / |before| (Frobenius norms)."""
    generator = torch.Generator().manual_seed(0)
    before = torch.randn(4, 3, generator=generator)
    after = before - 0.01 * torch.randn(4, 3, generator=generator)
    turn = torch.tensor([[0.6, -0.8], [0.8, 0.6]])  # a rotation: changes W but not its size
    square = torch.tensor([[3.0, 0.0], [0.0, 4.0]])

    def ratio(b: Tensor, a: Tensor) -> float:
        return ((a - b).norm() / b.norm()).item()

    forgot = "Divide by the size of the weights: the ratio says how large the step is relative to W."
    cases = [
        Case(
            "a step that rotates W = diag(3, 4) without changing its size",
            lambda f: f(square, turn @ square),
            ratio(square, turn @ square),
            hint="Take the norm of the change, (after - before).norm(), not the change of the norms: this step "
            "moves every weight but leaves |W| the same.",
            mistakes=[((turn @ square - square).norm().item(), forgot)],
        ),
        Case(
            "a 4 x 3 weight after a small step",
            lambda f: f(before, after),
            ratio(before, after),
            hint="Use the Frobenius norm of the whole tensor (tensor.norm()) of the change after - before, "
            "divided by the norm of before.",
            mistakes=[
                ((after - before).norm().item(), forgot),
                (
                    ((after - before).norm() / after.norm()).item(),
                    "Divide by the weights before the step (before.norm()), not after it.",
                ),
            ],
        ),
    ]
    return check_cases("my_update_ratio", answer, cases)
