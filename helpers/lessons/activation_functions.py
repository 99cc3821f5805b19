"""Notebook 02, activation functions: their curves, softmax at a temperature, dying ReLU measured, and an exercise.

The dying-ReLU experiment trains a one-hidden-layer MLP and tracks its hidden units
while it trains; the `plot_*` functions draw the kernels of
`helpers.kernels.activations` and `helpers.kernels.softmax`; `check_logsumexp`
gives feedback on the student's stable log-sum-exp.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real

import torch
from matplotlib.figure import Figure
from torch import Tensor

from helpers.core.data import IMAGE_PIXELS
from helpers.core.exercises import Case, Feedback, check_cases
from helpers.core.models import mlp
from helpers.core.seeding import seed_everything
from helpers.core.training import History, evaluate, fit
from helpers.kernels.activations import (
    activate,
    autograd_derivative,
    canonical_parameters,
    derivative,
    get_activation,
    inactive_unit_fraction,
    resolve_alpha,
)
from helpers.kernels.softmax import softmax

HIDDEN_UNITS = 64


@dataclass
class HiddenUnitTrace:
    """What happened to the hidden layer of one run, measured before training and after every epoch."""

    label: str
    inactive: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    prelu_alpha: list[float] = field(default_factory=list)


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
    """Train a 784-64-10 MLP with plain SGD and trace its hidden layer before training and after every epoch.

    A hidden unit counts as inactive when its input is <= 0 for every training
    image (`inactive_unit_fraction` on the whole of `train`); accuracy is measured
    on `test`. `bias_shift` is subtracted from every hidden bias before training,
    pushing units into their negative region; `lr` too large does the same through
    a few violent updates. Inputs are flattened images, shape (N, 784).
    """
    seed_everything(seed)
    model = mlp([IMAGE_PIXELS, HIDDEN_UNITS, 10], activation, alpha=alpha, flatten=False)
    hidden_layer, activation_module = model[0], model[1]
    with torch.no_grad():
        hidden_layer.bias -= bias_shift
    spec = get_activation(activation)
    trace = HiddenUnitTrace(spec.title + (f" (alpha = {alpha:g})" if alpha is not None else ""))

    def record(_epoch: int = 0, _history: History | None = None) -> None:
        with torch.no_grad():
            trace.inactive.append(inactive_unit_fraction(hidden_layer(train[0])))
        trace.accuracy.append(evaluate(model, *test).accuracy)
        if activation == "prelu":
            trace.prelu_alpha.append(activation_module.weight.item())

    record()
    fit(model, train, epochs=epochs, optimizer=torch.optim.SGD(model.parameters(), lr=lr), seed=seed, on_epoch=record)
    return trace


def plot_traces(traces: list[HiddenUnitTrace], title: str) -> Figure:
    """Fraction of hidden units stuck in their negative region, and test accuracy, epoch by epoch."""
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    (left, right) = figure.subplots(1, 2)
    for trace, marker, size in zip(traces, "osD^v<>p", range(9, 0, -1)):
        epochs = range(len(trace.inactive))  # distinct markers, shrinking, keep overlapping runs visible
        left.plot(epochs, trace.inactive, marker=marker, ms=size, label=trace.label)
        right.plot(epochs, trace.accuracy, marker=marker, ms=size, label=trace.label)
    left.set(
        xlabel="epoch",
        ylabel="fraction of hidden units",
        ylim=(-0.03, 1.03),
        title="Input <= 0 for every training image",
    )
    right.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title="Test accuracy (chance = 0.1)")
    right.axhline(0.1, color="grey", ls=":", lw=1)
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.legend(*left.get_legend_handles_labels(), loc="outside right upper", fontsize="small")  # off the data
    figure.suptitle(title)
    return figure


def plot_activation(name: str, alpha: float | None = None, *, span: float = 5.0) -> Figure:
    """The activation and its derivative side by side; autograd's derivative dotted over the analytic one."""
    if isinstance(span, bool) or not isinstance(span, Real) or not 0 < span < math.inf:
        raise ValueError(f"span must be a positive number (the plot covers -span to span), got {span!r}")
    spec = get_activation(name)
    name, alpha = canonical_parameters(name, alpha)
    alpha = None if alpha is None else resolve_alpha(spec, alpha)
    x = torch.linspace(-span, span, 401)
    figure = Figure(figsize=(9, 3.2), layout="constrained")
    (left, right) = figure.subplots(1, 2)
    label = spec.title + (f" (alpha = {alpha:g})" if alpha is not None else "")
    left.plot(x, activate(name, x, alpha), color="C0", lw=2)
    left.set(title=label, xlabel="x", ylabel="f(x)", ylim=(-1.6, span))
    right.plot(x, derivative(name, x, alpha), color="C1", lw=2, label="analytic")
    sample = x[::20]
    right.plot(sample, autograd_derivative(name, sample, alpha), "k.", ms=5, label="autograd")
    right.set(title=f"Derivative of {spec.title}", xlabel="x", ylabel="f'(x)", ylim=(-0.2, 1.3))
    right.legend(loc="upper left")
    for axis in (left, right):
        axis.axhline(0, color="grey", lw=0.6)
        axis.axvline(0, color="grey", lw=0.6)
        axis.grid(alpha=0.3)
    return figure


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
    figure = Figure(figsize=(9, 3.2), layout="constrained")
    (left, right) = figure.subplots(1, 2)
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


def check_logsumexp(answer: Callable[[Tensor], Tensor]) -> Feedback:
    """Feedback on a student's `my_logsumexp(z)`: log(sum(exp(z))) over the last dimension, stable for any logits."""
    small = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    large = torch.tensor([[1000.0, 1001.0, 1002.0]])
    apart = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]])

    def forgot_the_max(z: Tensor) -> Tensor:
        return torch.log(torch.exp(z - z.amax(dim=-1, keepdim=True)).sum(dim=-1))

    cases = [
        Case(
            "small logits [[1, 2, 3], [0, 0, 0]]",
            lambda f: f(small),
            torch.logsumexp(small, dim=-1),
            hint="Return one number per row, log(sum(exp(z))) over the last dimension (dim=-1), shape (rows,).",
            mistakes=[
                (
                    forgot_the_max(small),
                    "You subtracted the max m but never added it back: log sum exp(z) = m + log sum exp(z - m).",
                ),
                (
                    torch.logsumexp(small, dim=0),
                    "You summed over the rows (dim=0); sum over each row's logits (dim=-1).",
                ),
            ],
        ),
        Case(
            "large logits [[1000, 1001, 1002]]",
            lambda f: f(large),
            torch.logsumexp(large, dim=-1),
            hint="exp(1000) overflows to inf in float32: subtract each row's largest logit m before exp and add m "
            "back after the log.",
        ),
        Case(
            "rows far apart, [[1000, 1001, 1002], [-1000, -1001, -1002]]",
            lambda f: f(apart),
            torch.logsumexp(apart, dim=-1),
            hint="Take the max of each row (z.amax(dim=-1, keepdim=True)), not one max for the whole batch: "
            "shifting the second row by 1002 leaves exp(-2002) = 0 and log(0) = -inf.",
        ),
    ]
    return check_cases("my_logsumexp", answer, cases)
