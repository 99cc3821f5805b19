"""Tests for helpers.lessons.activation_functions: the dying-ReLU experiment, the figures and the exercise checker."""

import pytest
import torch
from matplotlib.figure import Figure
from notebook_code import solution_namespace

from helpers.lessons.activation_functions import (
    check_logsumexp,
    plot_activation,
    plot_softmax,
    plot_traces,
    track_hidden_units,
)


def blobs(n=400, seed=0):
    """A small 10-class problem in 784 dimensions: one random centre per class."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.rand(10, 784, generator=generator)
    labels = torch.arange(n) % 10
    return (centres[labels] + 0.1 * torch.randn(n, 784, generator=generator)).clamp(0, 1), labels


def test_bias_shift_kills_relu_but_not_prelu():
    train, test = blobs(), blobs(seed=1)
    relu = track_hidden_units("relu", train, test, bias_shift=6.0, epochs=3)
    prelu = track_hidden_units("prelu", train, test, alpha=0.25, bias_shift=6.0, epochs=3)
    assert relu.inactive == [1.0] * 4  # dead from the start, and no gradient to revive them
    assert prelu.inactive[0] == 1.0 and len(prelu.prelu_alpha) == 4
    assert prelu.prelu_alpha[-1] != pytest.approx(0.25)  # PReLU's slope is learned
    assert prelu.accuracy[-1] > relu.accuracy[-1]


def test_tracking_is_reproducible():
    train, test = blobs(), blobs(seed=1)
    first = track_hidden_units("leaky_relu", train, test, alpha=0.1, epochs=1, seed=3)
    again = track_hidden_units("leaky_relu", train, test, alpha=0.1, epochs=1, seed=3)
    assert first == again and first.label == "Leaky ReLU (alpha = 0.1)"


def test_inactive_units_are_counted_on_the_training_images():
    train, test = blobs(), blobs(seed=1)
    bright_test = (100 * torch.ones_like(test[0]), test[1])  # some hidden units are positive on these
    trace = track_hidden_units("relu", train, bright_test, bias_shift=50.0, epochs=1)
    assert trace.inactive == [1.0, 1.0]  # the counts follow the training images, not the test images


def test_plot_traces_draws_one_line_per_run_and_keeps_the_legend_off_the_data():
    train, test = blobs(), blobs(seed=1)
    traces = [track_hidden_units(name, train, test, epochs=1) for name in ["relu", "tanh"]]
    figure = plot_traces(traces, "two runs")
    assert [len(axis.lines) for axis in figure.axes] == [2, 3]  # right panel adds the chance line
    assert all(axis.get_legend() is None for axis in figure.axes) and len(figure.legends) == 1
    assert all(axis.get_ylabel() for axis in figure.axes)


def test_the_logsumexp_solution_passes_its_checker():
    solution = solution_namespace("02-activation-functions", "my_logsumexp")["my_logsumexp"]
    feedback = check_logsumexp(solution)
    assert feedback.passed, feedback.message


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda z: torch.log(torch.exp(z).sum(dim=-1)), "exp(1000) overflows to inf"),
        (lambda z: torch.log(torch.exp(z - z.amax(dim=-1, keepdim=True)).sum(dim=-1)), "never added it back"),
        (lambda z: z.max() + torch.log(torch.exp(z - z.max()).sum(dim=-1)), "Take the max of each row"),
        (lambda z: torch.logsumexp(z, dim=0), "You summed over the rows (dim=0)"),
    ],
    ids=["no-shift", "shift-not-added-back", "one-max-for-the-batch", "wrong-dim"],
)
def test_typical_logsumexp_mistakes_earn_their_hint(wrong, hint):
    feedback = check_logsumexp(wrong)
    assert not feedback.passed and hint in feedback.message, feedback.message


def test_an_unwritten_logsumexp_asks_to_be_written():
    def my_logsumexp(z):
        raise NotImplementedError

    assert check_logsumexp(my_logsumexp).message.startswith("Not written yet")


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
