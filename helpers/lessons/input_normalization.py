"""Notebook 04, input normalization: colour-tinted MNIST as a shortcut, what an outlier does to scaling, an exercise.

Colour-tinted MNIST is a data set in which colour is a shortcut that stops
working at test time. Each grey-scale digit is painted in one colour (its strokes take the colour, the
background stays black). One digit is painted red far more often than the
others, so in training "red" and that digit go together; changing the rule at
test time shows whether a network learned the digit's shape or its colour.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from matplotlib.figure import Figure
from torch import Tensor

from helpers.core.checks import check_pairs
from helpers.core.exercises import Case, Feedback, check_cases

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


def plot_outlier_effect(raw: Tensor, min_max: Tensor, z_score: Tensor) -> Figure:
    """Histograms of the same values raw, min-max scaled and z-scored; the *last* value is the outlier.

    The outlier is marked in red. Each histogram spans its panel's window: all
    the data for the raw and min-max panels, a fixed [-5, 5] for the z-score
    one, so the reader sees how far the other values are squeezed; an outlier
    outside that window is named at its edge.
    """
    if raw.dim() != 1 or len(raw) < 3:
        raise ValueError(
            f"raw must be a 1-D tensor of at least two values and the outlier, got shape {tuple(raw.shape)}"
        )
    if min_max.shape != raw.shape or z_score.shape != raw.shape:
        raise ValueError(
            f"the three views must have one value each per raw value, got shapes "
            f"{tuple(raw.shape)}, {tuple(min_max.shape)}, {tuple(z_score.shape)}"
        )
    if not torch.isfinite(torch.stack([raw, min_max, z_score])).all():
        raise ValueError("the values must be finite numbers; scale them with a fitted scaler")
    views = (
        ("raw values", raw, (raw.min().item(), raw.max().item())),
        ("min-max", min_max, (0.0, 1.0)),
        ("z-score", z_score, (-5.0, 5.0)),
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
    others = raw[:-1]
    figure.suptitle(f"{len(others)} values around {others.mean():.3g} and one outlier at {raw[-1]:g}")
    return figure


def _robust(
    train: Tensor, test: Tensor, fit_on: Tensor, *, centre: str = "median", spread: str = "iqr", per_feature=False
) -> tuple[Tensor, Tensor]:
    """`(x - centre) / spread` for both sets, the statistics taken from `fit_on`: the answer and its typical mistakes."""
    values = fit_on if per_feature else fit_on.reshape(-1)
    low, median, high = torch.quantile(values, torch.tensor([0.25, 0.5, 0.75]), dim=0)
    shift = median if centre == "median" else values.mean(dim=0)
    scale = high - low if spread == "iqr" else values.std(dim=0, correction=0)
    return (train - shift) / scale, (test - shift) / scale


def check_robust_scaling(answer: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]) -> Feedback:
    """Check `answer(train, test) -> (scaled_train, scaled_test)`: median and interquartile range of the training set."""
    # An odd number of training values, so that `torch.median` and the 50th percentile agree.
    train = torch.tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 50.0])
    test = torch.tensor([0.0, 2.0, 7.0, 100.0, 5.0])
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(5, 1, 3, 3, generator=generator)
    new_images = torch.rand(3, 1, 3, 3, generator=generator)
    general = (
        "Take the median and the 25th and 75th percentiles of all training values (torch.quantile), "
        "then return ((train - median) / IQR, (test - median) / IQR) with IQR = 75th - 25th percentile."
    )
    from_test = (
        "The test set was scaled with its own statistics: compute the median and IQR on the training set only "
        "and apply those same two numbers to the test set."
    )
    cases = [
        Case(
            "nine training values with an outlier, five test values",
            lambda scale: scale(train.clone(), test.clone()),
            _robust(train, test, train),
            hint=general,
            mistakes=[
                ((_robust(train, test, train)[0], _robust(test, test, test)[0]), from_test),
                (
                    _robust(train, test, torch.cat([train, test])),
                    "The statistics include the test values: fit on the training set alone, the test set stays out.",
                ),
                (
                    _robust(train, test, train, spread="std"),
                    "You divided by the standard deviation, which the outlier inflates; divide by the IQR instead.",
                ),
                (
                    _robust(train, test, train, centre="mean"),
                    "You subtracted the mean, which the outlier drags along; subtract the median instead.",
                ),
            ],
        ),
        Case(
            "a batch of 5 images, 3 new ones",
            lambda scale: scale(images.clone(), new_images.clone()),
            _robust(images, new_images, images),
            hint="Keep each tensor's shape: compute the statistics on train.reshape(-1), then scale the tensors as they are.",
            mistakes=[
                (
                    _robust(images, new_images, images, per_feature=True),
                    "You took one median and IQR per pixel; here one pair for all values (global) is asked for.",
                ),
                ((_robust(images, new_images, images)[0], _robust(new_images, new_images, new_images)[0]), from_test),
            ],
        ),
    ]
    return check_cases("your robust scaling", answer, cases)
