"""Comparing training variants fairly: each one run with several seeds, reported as mean and spread.

One run can be lucky; the same experiment repeated with a few seeds shows how
much of a difference between two variants is real and how much is chance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from helpers.core.training import History

METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


def stack_metric(histories: Sequence[History], metric: str) -> Tensor:
    """One metric of several runs as a tensor of shape `(runs, epochs)`."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    if not histories:
        raise ValueError("no runs given: pass the History of at least one run")
    lengths = {len(getattr(history, metric)) for history in histories}
    if 0 in lengths:
        raise ValueError(f"a run has no {metric}; for val_* metrics, train with a validation set")
    if len(lengths) > 1:
        raise ValueError(f"the runs recorded {metric} for different numbers of epochs: {sorted(lengths)}")
    return torch.tensor([getattr(history, metric) for history in histories])


def _check_runs(runs: Mapping[str, Tensor], dims: int) -> None:
    if not runs:
        raise ValueError("nothing to show: pass at least one named set of runs")
    for name, values in runs.items():
        if values.dim() != dims or values.numel() == 0:
            raise ValueError(
                f"{name!r} must be a non-empty {dims}-D tensor (one row per run), got {tuple(values.shape)}"
            )


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return ax if ax is not None else Figure(figsize=size, layout="constrained").subplots()


def plot_curves(curves: Mapping[str, Tensor], *, ylabel: str, title: str = "", ax: Axes | None = None) -> Figure:
    """Each named `(runs, epochs)` tensor as its mean over runs (line) and its lowest-to-highest run (band)."""
    _check_runs(curves, dims=2)
    ax = _axes(ax, (6, 3.5))
    for name, values in curves.items():
        values = values.detach().cpu().numpy()
        epochs = range(1, values.shape[1] + 1)
        (line,) = ax.plot(epochs, values.mean(axis=0), marker=".", label=name)
        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax.figure


def plot_final_accuracies(accuracies: Mapping[str, Tensor], *, title: str = "", ax: Axes | None = None) -> Figure:
    """One row per variant: a dot per run and a bar at the mean, accuracies (in [0, 1]) shown in percent."""
    _check_runs(accuracies, dims=1)
    ax = _axes(ax, (6, 0.5 * len(accuracies) + 1.2))
    for row, values in enumerate(accuracies.values()):
        values = values.detach().cpu().numpy()
        ax.plot(100 * values, [row] * len(values), "o", color=f"C{row}", alpha=0.7)
        ax.plot([100 * values.mean()] * 2, [row - 0.3, row + 0.3], color=f"C{row}", linewidth=3)
    ax.set_yticks(range(len(accuracies)), list(accuracies))
    ax.invert_yaxis()
    ax.set(xlabel="accuracy (%): dots are seeds, bars their mean", title=title)
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def summarize_accuracies(accuracies: Mapping[str, Tensor]) -> str:
    """A table line per variant: mean accuracy, standard deviation over runs and the range, in percent."""
    _check_runs(accuracies, dims=1)
    width = max(map(len, accuracies))
    lines = []
    for name, values in accuracies.items():
        if len(values) < 2:
            raise ValueError(f"{name!r} has {len(values)} run; a spread needs at least two seeds")
        if values.min() < 0 or values.max() > 1:
            raise ValueError(f"{name!r} holds values outside [0, 1]; pass accuracies as fractions")
        percent = 100 * values.double()
        lines.append(
            f"{name:<{width}}  {percent.mean():5.1f}% ± {percent.std():.1f}  "
            f"({len(values)} seeds, {percent.min():.1f}% to {percent.max():.1f}%)"
        )
    return "\n".join(lines)
