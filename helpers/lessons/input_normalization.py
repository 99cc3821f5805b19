"""Notebook 04, input normalization: colour-tinted MNIST as a shortcut, and what an outlier does to scaling.

Colour-tinted MNIST is a data set in which colour is a shortcut that stops
working at test time. Each grey-scale digit is painted in one colour (its strokes take the colour, the
background stays black). One digit is painted red far more often than the
others, so in training "red" and that digit go together; changing the rule at
test time shows whether a network learned the digit's shape or its colour.
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from torch import Tensor

from helpers.core.checks import check_pairs
from helpers.kernels.normalization import MinMaxScaler, ZScoreScaler

PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
}


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} is a probability and must lie in [0, 1], got {value}")


def tint_digits(
    images: Tensor,
    labels: Tensor,
    *,
    red_digit: int,
    red_if_digit: float,
    red_if_other: float,
    seed: int = 0,
) -> Tensor:
    """Paint grey-scale digits `(N, 1, H, W)` in colour, giving `(N, 3, H, W)`.

    An image of `red_digit` is red with probability `red_if_digit`, any other
    image with probability `red_if_other`; images that are not red get one of
    the other `PALETTE` colours, uniformly at random. Colours are drawn from
    their own generator seeded with `seed`, so the same call gives the same data.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be grey-scale, of shape (N, 1, H, W), got {tuple(images.shape)}")
    check_pairs(images, labels)
    if not 0 <= red_digit <= 9:
        raise ValueError(f"red_digit must be a digit from 0 to 9, got {red_digit}")
    _check_probability("red_if_digit", red_if_digit)
    _check_probability("red_if_other", red_if_other)
    generator = torch.Generator().manual_seed(seed)
    chance = torch.where(labels == red_digit, red_if_digit, red_if_other)
    red = torch.rand(len(labels), generator=generator) < chance
    other = torch.randint(1, len(PALETTE), (len(labels),), generator=generator)
    colours = torch.tensor(list(PALETTE.values()), dtype=images.dtype)[torch.where(red, 0, other)]
    return images * colours[:, :, None, None].to(images.device)


def plot_outlier_effect(values: Tensor, outlier: float) -> Figure:
    """Histograms of `values` plus one `outlier`: raw, min-max scaled and z-scored, each fitted on all of them.

    The outlier is marked in red. Each histogram spans its panel's window: all
    the data for the raw and min-max panels, a fixed [-5, 5] for the z-score
    one, so the reader sees how far the other values are squeezed; an outlier
    outside that window is named at its edge.
    """
    if values.dim() != 1 or len(values) < 2:
        raise ValueError(f"values must be a 1-D tensor of at least two numbers, got shape {tuple(values.shape)}")
    if not math.isfinite(outlier):
        raise ValueError(f"the outlier must be a finite number, got {outlier}")
    data = torch.cat([values, torch.tensor([outlier], dtype=values.dtype)])
    views = (
        ("raw values", data, (data.min().item(), data.max().item())),
        ("min-max", MinMaxScaler().fit(data).transform(data), (0.0, 1.0)),
        ("z-score", ZScoreScaler().fit(data).transform(data), (-5.0, 5.0)),
    )
    figure = Figure(figsize=(10, 3.2), layout="constrained")
    for axes, (name, scaled, window) in zip(figure.subplots(1, 3), views):
        others, extreme = scaled[:-1], scaled[-1].item()
        axes.hist(others.numpy(), bins=40, range=window, color="C0", label="the other values")
        if window[0] <= extreme <= window[1]:
            axes.axvline(extreme, color="C3", linestyle="--", label="the outlier")
        else:
            axes.annotate(
                f"outlier at {extreme:.3g} \u2192", xy=(0.98, 0.9), xycoords="axes fraction", ha="right", color="C3"
            )
        axes.set(title=f"{name}: others in [{others.min():.3g}, {others.max():.3g}]", xlabel="value", ylabel="count")
        axes.title.set_fontsize(10)
    figure.axes[0].legend(fontsize=8, loc="upper center")
    figure.suptitle(f"{len(values)} values around {values.mean():.3g} and one outlier at {outlier:g}")
    return figure
