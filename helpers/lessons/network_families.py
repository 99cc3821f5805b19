"""The feed-forward families as small PyTorch models, and the bookkeeping that compares them.

`mlp` and `small_cnn` build the two image classifiers of the network-families
notebook; `summarize_layers` and `layer_table` trace the shape of the data through
any model and count each layer's parameters, so nothing is written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """A multilayer perceptron: flatten, then fully connected layers of the given `sizes`.

    `sizes` lists the input size, one or more hidden sizes and the output size,
    for example `[784, 64, 10]`. Every hidden layer is followed by a ReLU; the
    output layer is left linear (raw class scores).
    """
    sizes = list(sizes)
    if len(sizes) < 3:
        raise ValueError(
            f"an MLP needs an input size, at least one hidden size and an output size, got {sizes}; "
            "for example [784, 64, 10]"
        )
    if not all(isinstance(size, int) and size >= 1 for size in sizes):
        raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def small_cnn(channels: tuple[int, int] = (8, 16), classes: int = 10, image_size: int = 28) -> nn.Sequential:
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
            raise TypeError(f"layer {label} returned a {type(output).__name__}, not one tensor; summarize feed-forward models only")
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


def draw_family_comparison(results: Mapping[str, tuple[int, float]]) -> Figure:
    """Bar charts of parameter count and test accuracy, from `{name: (parameters, accuracy)}`."""
    if not results:
        raise ValueError("results is empty: pass {model name: (parameter count, test accuracy)}")
    names = list(results)
    parameters = [results[name][0] for name in names]
    accuracy = [100 * results[name][1] for name in names]
    colours = [f"C{i}" for i in range(len(names))]
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
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
