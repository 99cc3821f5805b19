"""Tests for helpers.lessons.activation_functions: the dying-ReLU experiment and the figures."""

import pytest
import torch
from matplotlib.figure import Figure

from helpers.lessons.activation_functions import plot_activation, plot_softmax, plot_traces, track_hidden_units


def blobs(n=400, seed=0):
    """A small 10-class problem in 784 dimensions: one random centre per class."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.rand(10, 784, generator=generator)
    labels = torch.arange(n) % 10
    return (centres[labels] + 0.1 * torch.randn(n, 784, generator=generator)).clamp(0, 1), labels


def test_bias_shift_kills_relu_but_not_prelu():
    train, test = blobs(), blobs(seed=1)
    relu = track_hidden_units("relu", train, test, bias_shift=5.0, epochs=3)
    prelu = track_hidden_units("prelu", train, test, alpha=0.25, bias_shift=5.0, epochs=3)
    assert relu.inactive == [1.0] * 4  # dead from the start, and no gradient to revive them
    assert prelu.inactive[0] == 1.0 and len(prelu.prelu_alpha) == 4
    assert prelu.prelu_alpha[-1] != pytest.approx(0.25)  # PReLU's slope is learned
    assert prelu.accuracy[-1] > relu.accuracy[-1]


def test_tracking_is_reproducible():
    train, test = blobs(), blobs(seed=1)
    first = track_hidden_units("leaky_relu", train, test, alpha=0.1, epochs=1, seed=3)
    again = track_hidden_units("leaky_relu", train, test, alpha=0.1, epochs=1, seed=3)
    assert first == again and first.label == "Leaky ReLU (alpha = 0.1)"


def test_plot_traces_draws_one_line_per_run():
    train, test = blobs(), blobs(seed=1)
    traces = [track_hidden_units(name, train, test, epochs=1) for name in ["relu", "tanh"]]
    figure = plot_traces(traces, "two runs")
    assert [len(axis.lines) for axis in figure.axes] == [2, 3]  # right panel adds the chance line


def test_plot_activation_ignores_alpha_it_does_not_use():
    figure = plot_activation("gelu", 0.5)
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert figure.axes[0].get_title() == "GELU"
    assert "alpha = 0.5" in plot_activation("elu", 0.5).axes[0].get_title()


def test_plot_softmax_reports_sum_and_argmax():
    figure = plot_softmax(torch.tensor([0.0, 3.0, 1.0]), temperature=2.0)
    assert "sum = 1.000" in figure.axes[1].get_title() and "argmax = class 1" in figure.axes[1].get_title()


@pytest.mark.parametrize("span", [0, -2.0, float("inf"), float("nan"), "5"])
def test_plot_activation_needs_a_positive_span(span):
    with pytest.raises(ValueError, match="span must be a positive number"):
        plot_activation("relu", span=span)


@pytest.mark.parametrize("names", [["a", "b"], ["a", "b", "c", "d"]])
def test_plot_softmax_needs_one_class_name_per_logit(names):
    with pytest.raises(ValueError, match=f"{len(names)} class names for 3 logits: give one name per class"):
        plot_softmax(torch.tensor([1.0, 2.0, 0.5]), class_names=names)


@pytest.mark.parametrize("logits", [torch.tensor([]), torch.ones(2, 3)])
def test_plot_softmax_needs_a_non_empty_vector(logits):
    with pytest.raises(ValueError, match="logits must be a non-empty 1-D tensor"):
        plot_softmax(logits)
