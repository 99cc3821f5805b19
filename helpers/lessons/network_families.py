"""Notebook 01, network families: a small CNN next to an MLP, and pictures of convolution, recurrence and attention.

`small_cnn` is the notebook's convolutional classifier (its MLP comes from
`helpers.core.models.mlp`); `summarize_layers` and `layer_table` trace the shape of
the data through any model and count each layer's parameters, so nothing is written
by hand. The `plot_*` functions draw the kernels of `helpers.kernels` at work, and
`check_feature_map` checks the exercise where the student writes a filter's feature map.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from helpers.core.data import IMAGE_SHAPE
from helpers.core.exercises import Case, Feedback, check_cases
from helpers.kernels.convolution import cross_correlate2d
from helpers.kernels.recurrent import half_life, input_influence, running_sum_rnn, unroll


@dataclass(frozen=True)
class FamilyResult:
    """What one trained family costs and achieves: its parameter count and its test accuracy."""

    parameters: int
    accuracy: float


def small_cnn(
    channels: tuple[int, int] = (8, 16), classes: int = 10, image_size: int = IMAGE_SHAPE[0]
) -> nn.Sequential:
    """A two-block convolutional network for square one-channel images.

    Each block is a 3x3 convolution (no padding), a ReLU and 2x2 max pooling;
    a single fully connected layer turns the last feature maps into `classes` scores.
    """
    if len(channels) != 2 or not all(isinstance(c, int) and c >= 1 for c in channels):
        raise ValueError(f"channels must be two positive integers (one per block), got {channels}")
    side = ((image_size - 2) // 2 - 2) // 2
    if side < 1:
        raise ValueError(
            f"image_size {image_size} is too small for two 3x3 convolutions and two 2x2 poolings; use 10 or more"
        )
    first, second = channels
    return nn.Sequential(
        nn.Conv2d(1, first, kernel_size=3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(first, second, kernel_size=3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(second * side * side, classes),
    )


def count_parameters(model: nn.Module) -> int:
    """The number of numbers the model learns: the sum of the sizes of all its parameters."""
    return sum(parameter.numel() for parameter in model.parameters())


@dataclass(frozen=True)
class LayerSummary:
    """One layer as the data passes through it: its name, output shape (without the batch) and parameters."""

    name: str
    output_shape: tuple[int, ...]
    parameters: int


def summarize_layers(model: nn.Module, example: torch.Tensor) -> list[LayerSummary]:
    """Run `example` (a batch) through `model` and record every innermost layer, in the order it ran.

    Each innermost layer must return a single tensor, as feed-forward layers do.
    """
    if example.dim() < 2:
        raise ValueError(
            f"example must be a batch with a leading batch dimension, got shape {tuple(example.shape)}; "
            "add one with example.unsqueeze(0)"
        )
    leaves = [(name, module) for name, module in model.named_modules() if not list(module.children())]
    rows: list[LayerSummary] = []

    def record(name: str, module: nn.Module, _inputs, output: torch.Tensor) -> None:
        label = f"{name}: {type(module).__name__}"
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"layer {label} returned a {type(output).__name__}, not one tensor; summarize feed-forward models only"
            )
        rows.append(LayerSummary(label, tuple(output.shape[1:]), count_parameters(module)))

    handles = [module.register_forward_hook(partial(record, name)) for name, module in leaves]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return rows


def layer_table(model: nn.Module, example: torch.Tensor) -> str:
    """A Markdown table of the shapes flowing through `model` and each layer's parameter count."""
    rows = summarize_layers(model, example)
    lines = [
        "| layer | output shape | parameters |",
        "|:--|:--|--:|",
        f"| input | {tuple(example.shape[1:])} | |",
    ]
    lines += [f"| {row.name} | {row.output_shape} | {row.parameters:,} |" for row in rows]
    lines.append(f"| **total** | | **{count_parameters(model):,}** |")
    return "\n".join(lines)


def plot_family_comparison(results: Mapping[str, FamilyResult]) -> Figure:
    """Bar charts of parameter count and test accuracy, from `{name: FamilyResult}`."""
    if not results:
        raise ValueError("results is empty: pass {model name: FamilyResult(parameters, accuracy)}")
    names = list(results)
    parameters = [results[name].parameters for name in names]
    accuracy = [100 * results[name].accuracy for name in names]
    colours = [f"C{i}" for i in range(len(names))]
    figure = Figure(figsize=(8, 3), layout="constrained")
    (left, right) = figure.subplots(1, 2)
    panels = ((left, parameters, "learned parameters", "{:,.0f}"), (right, accuracy, "test accuracy (%)", "{:.1f}"))
    for axes, values, label, number in panels:
        bars = axes.bar(names, values, color=colours)
        axes.bar_label(bars, labels=[number.format(value) for value in values])
        axes.set_ylabel(label)
        axes.margins(y=0.15)
    left.set_title("Size")
    right.set_title("Accuracy on held-out digits")
    right.set_ylim(0, 100)
    return figure


def plot_sliding_filter(image: torch.Tensor, kernel: torch.Tensor, position: int, name: str = "") -> Figure:
    """The filter at window number `position` (counted row by row) and the feature map built up to it.

    Three panels: the image with the current window outlined, the filter's
    weights, and the feature map with every window up to `position` filled in.
    """
    feature_map = cross_correlate2d(image, kernel).detach()
    rows, cols = feature_map.shape
    if not 0 <= position < rows * cols:
        raise ValueError(f"position must lie in [0, {rows * cols}) for this image and kernel, got {position}")
    row, col = divmod(position, cols)
    visited = torch.full_like(feature_map, float("nan")).flatten()
    visited[: position + 1] = feature_map.flatten()[: position + 1]
    limit = float(feature_map.abs().max()) or 1.0

    # Fixed panel positions (figure fractions): far quicker to render than an automatic layout.
    figure = Figure(figsize=(8, 3))
    left, middle, right = (figure.add_axes((x, 0.04, 0.2875, 0.767)) for x in (0.01, 0.315, 0.62))
    left.imshow(image.detach().numpy(), cmap="gray_r")
    left.add_patch(Rectangle((col - 0.5, row - 0.5), kernel.shape[1], kernel.shape[0], fill=False, color="C3", lw=2))
    left.set_title("input and current window", fontsize=10)
    reach = float(kernel.abs().max()) or 1.0
    middle.imshow(kernel.detach().numpy(), cmap="RdBu_r", vmin=-reach, vmax=reach)
    for i, j in itertools.product(range(kernel.shape[0]), range(kernel.shape[1])):
        weight = float(kernel[i, j])
        colour = "white" if abs(weight) > 0.6 * reach else "black"
        middle.text(j, i, f"{weight:.2f}", ha="center", va="center", fontsize=8, color=colour)
    middle.set_title(f"filter: {name}" if name else "filter", fontsize=10)
    colours = colormaps["RdBu_r"].with_extremes(bad="0.8")  # grey: windows not reached yet
    shown = right.imshow(visited.view(rows, cols).numpy(), cmap=colours, vmin=-limit, vmax=limit)
    right.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, color="C3", lw=2))
    right.set_title(f"feature map, window {position + 1} of {rows * cols}", fontsize=10)
    figure.colorbar(shown, cax=figure.add_axes((0.92, 0.04, 0.015, 0.767)))
    for axes in (left, middle, right):
        axes.set_xticks([])
        axes.set_yticks([])
    return figure


def plot_rnn_memory(inputs: torch.Tensor, recurrent_weight: float) -> Figure:
    """A running-sum RNN on a short sequence: its state step by step, and what it still remembers at the end.

    `inputs` is a 1-D sequence of non-negative numbers that starts and ends with a positive one:
    where the ReLU's input is exactly 0 its slope counts as 0, which would hide that input's influence.
    """
    if inputs.dim() != 1 or len(inputs) < 2 or inputs.min() < 0 or inputs[0] <= 0 or inputs[-1] <= 0:
        raise ValueError(
            "inputs must be a 1-D sequence of non-negative numbers that starts and ends with a positive one, "
            f"got {inputs}"
        )
    rnn = running_sum_rnn(recurrent_weight)
    sequence = inputs.unsqueeze(1)
    with torch.no_grad():
        states = unroll(rnn, sequence)[:, 0]
    influence = input_influence(rnn, sequence)
    steps = torch.arange(len(inputs)).numpy()

    figure = Figure(figsize=(8, 3), layout="constrained")
    (left, right) = figure.subplots(1, 2)
    left.bar(steps, inputs.numpy(), color="0.75", label="input $x_t$")
    left.plot(steps, torch.cumsum(inputs, 0).numpy(), "k--", lw=1, label="exact running sum")
    left.plot(steps, states.numpy(), "o-", color="C0", label="hidden state $h_t$")
    left.set(xlabel="step t", ylabel="value", title=f"State step by step, w = {recurrent_weight:g}")
    left.set_ylim(0, 1.5 * float(inputs.sum()))
    left.legend(fontsize=8, loc="upper left")
    right.bar(steps, influence.numpy(), color="C1")
    life = half_life(recurrent_weight)
    memory = "never fades" if math.isinf(life) else f"half-life {life:.1f} steps"
    right.set(
        xlabel="step t of the input",
        ylabel=r"$|\partial h_{last} / \partial x_t|$",
        ylim=(0, 1.1),
        title=f"Memory at the last step ({memory})",
    )
    for axes in (left, right):
        axes.set_xticks(steps)
    return figure


def plot_attention_vs_recurrence(words: Sequence[str], weights: torch.Tensor) -> Figure:
    """Two ways to read a sentence: the steps an RNN needs between positions, and one step of attention weights."""
    n = len(words)
    if weights.shape != (n, n):
        raise ValueError(f"weights must have shape ({n}, {n}) for {n} words, got {tuple(weights.shape)}")
    position = torch.arange(n)
    distance = (position[:, None] - position[None, :]).float()
    steps = distance.masked_fill(distance < 0, float("nan"))

    figure = Figure(figsize=(9, 4.2), layout="constrained")
    (left, right) = figure.subplots(1, 2)
    panels = (
        (left, steps.numpy(), "Greys", "RNN: steps from word j to word i", "steps"),
        (right, weights.detach().numpy(), "viridis", "Attention: weight word i gives word j", "attention weight"),
    )
    for axes, values, cmap, title, label in panels:
        shown = axes.imshow(values, cmap=cmap, vmin=0)
        figure.colorbar(shown, ax=axes, shrink=0.8, label=label)
        axes.set_xticks(position, words, rotation=60, fontsize=8)
        axes.set_yticks(position, words, fontsize=8)
        axes.set_title(title, fontsize=10)
        axes.set(xlabel="word j (read from)", ylabel="word i (being updated)")
    for i, j in zip(*torch.tril_indices(n, n).tolist()):
        left.text(j, i, int(i - j), ha="center", va="center", fontsize=7, color="k" if i - j < n / 2 else "w")
    left.text(n - 1, 0, "an RNN cannot\nread ahead", ha="right", va="top", fontsize=9)
    return figure


def _feature_map_case(name: str, image: torch.Tensor, kernel: torch.Tensor, bias: float) -> Case:
    """One trial of a student's `feature_map(image, kernel, bias)`, with the typical wrong maps it would give."""
    height, width = kernel.shape
    plain = cross_correlate2d(image, kernel)
    return Case(
        name=name,
        run=lambda answer: answer(image.clone(), kernel.clone(), bias),
        expected=plain + bias,
        hint=(
            "Each entry is (window * kernel).sum() + bias, for the window whose top-left corner is at that row "
            "and column; compare with cross_correlate2d above"
        ),
        mistakes=(
            (
                cross_correlate2d(image, kernel.flip(0, 1)) + bias,
                "You flipped the kernel: that is the mathematician's convolution. A convolution layer lays the "
                "filter on each window as it is (a cross-correlation)",
            ),
            (plain, "The bias is missing: add the one number `bias` to every entry of the map"),
            (
                (plain + bias)[:-1, :-1],
                f"The map is one row and one column short: a {height} x {width} kernel fits in "
                f"H - {height} + 1 rows and W - {width} + 1 columns (range(H - kh + 1))",
            ),
        ),
    )


def check_feature_map(feature_map) -> Feedback:
    """Check a student's `feature_map(image, kernel, bias)`: one filter of a convolution layer, bias included.

    The image is 2-D (H, W), the kernel 2-D (kh, kw), stride 1 and no padding: the
    result has shape (H - kh + 1, W - kw + 1), as `torch.nn.functional.conv2d` gives.
    """
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(5, 6, generator=generator)
    cases = [
        _feature_map_case("a 5 x 6 image and a 3 x 3 kernel", image, torch.randn(3, 3, generator=generator), 0.5),
        _feature_map_case("a 5 x 6 image and a 2 x 4 kernel", image, torch.randn(2, 4, generator=generator), -1.0),
    ]
    return check_cases("your feature map", feature_map, cases)
