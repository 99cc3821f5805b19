import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from helpers.dying_relu import one_hidden_layer_mlp, plot_traces, track_hidden_units


def blobs(n=400, seed=0):
    """A small 10-class problem in 784 dimensions: one random centre per class."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.rand(10, 784, generator=generator)
    labels = torch.arange(n) % 10
    return (centres[labels] + 0.1 * torch.randn(n, 784, generator=generator)).clamp(0, 1), labels


def test_model_shape_and_activation():
    model = one_hidden_layer_mlp("elu", 0.5, hidden=32)
    assert model(torch.zeros(5, 784)).shape == (5, 10)
    assert isinstance(model[1], torch.nn.ELU) and model[1].alpha == 0.5


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


@pytest.mark.parametrize("hidden", [0, -3, 2.5, True])
def test_the_hidden_layer_needs_a_positive_whole_number_of_units(hidden):
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        one_hidden_layer_mlp("relu", hidden=hidden)
