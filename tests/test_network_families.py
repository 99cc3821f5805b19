"""Tests for helpers.lessons.network_families: the MLP and CNN builders, parameter counts and layer summaries."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from helpers.lessons.network_families import (
    count_parameters,
    draw_family_comparison,
    layer_table,
    mlp,
    small_cnn,
    summarize_layers,
)


def dense_parameters(sizes):
    """Weights plus biases of fully connected layers between consecutive sizes."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))


@pytest.mark.parametrize("sizes", [[784, 64, 10], [12, 7, 5, 3], [4, 1, 2]])
def test_mlp_layers_and_parameter_count(sizes):
    model = mlp(sizes)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == list(zip(sizes, sizes[1:]))
    assert sum(isinstance(m, nn.ReLU) for m in model) == len(sizes) - 2
    assert not isinstance(model[-1], nn.ReLU)
    assert count_parameters(model) == dense_parameters(sizes)
    assert model(torch.randn(5, sizes[0])).shape == (5, sizes[-1])


def test_mlp_flattens_images():
    assert mlp([784, 32, 10])(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_mlp_rejects_a_network_without_hidden_layer():
    with pytest.raises(ValueError, match="at least one hidden size"):
        mlp([784, 10])


def test_mlp_rejects_non_positive_sizes():
    with pytest.raises(ValueError, match="positive integers"):
        mlp([784, 0, 10])


@pytest.mark.parametrize("channels, image_size", [((8, 16), 28), ((4, 6), 20), ((2, 3), 10)])
def test_small_cnn_shapes_and_parameter_count(channels, image_size):
    model = small_cnn(channels, classes=7, image_size=image_size)
    first, second = channels
    side = ((image_size - 2) // 2 - 2) // 2
    expected = (9 + 1) * first + (9 * first + 1) * second + (second * side * side + 1) * 7
    assert count_parameters(model) == expected
    assert model(torch.rand(2, 1, image_size, image_size)).shape == (2, 7)


def test_small_cnn_rejects_tiny_images_and_bad_channels():
    with pytest.raises(ValueError, match="too small"):
        small_cnn(image_size=8)
    with pytest.raises(ValueError, match="two positive integers"):
        small_cnn(channels=(8,))


def test_count_parameters_counts_weights_and_biases():
    assert count_parameters(nn.Linear(3, 2)) == 3 * 2 + 2
    assert count_parameters(nn.Conv2d(2, 4, kernel_size=3, bias=False)) == 2 * 4 * 9
    assert count_parameters(nn.ReLU()) == 0


def test_summarize_layers_follows_the_data():
    model = small_cnn()
    example = torch.rand(1, 1, 28, 28)
    rows = summarize_layers(model, example)
    x = example
    for layer, row in zip(model, rows, strict=True):
        x = layer(x)
        assert row.output_shape == tuple(x.shape[1:])
        assert row.parameters == count_parameters(layer)
        assert row.name.endswith(type(layer).__name__)
    assert sum(row.parameters for row in rows) == count_parameters(model)


def test_summarize_layers_removes_its_hooks():
    model = mlp([6, 4, 2])
    summarize_layers(model, torch.rand(1, 6))
    assert all(not module._forward_hooks for module in model.modules())


def test_summarize_layers_needs_a_batch():
    with pytest.raises(ValueError, match="leading batch dimension"):
        summarize_layers(nn.Linear(3, 2), torch.rand(3))


def test_summarize_layers_rejects_layers_returning_tuples():
    with pytest.raises(TypeError, match="not one tensor"):
        summarize_layers(nn.Sequential(nn.RNN(3, 2)), torch.rand(4, 3))


def test_layer_table_lists_every_layer_and_the_total():
    model = mlp([784, 64, 10])
    table = layer_table(model, torch.rand(1, 1, 28, 28)).splitlines()
    assert len(table) == 2 + 1 + len(model) + 1  # header, input, layers, total
    assert table[2] == "| input | (1, 28, 28) | |"
    assert f"**{dense_parameters([784, 64, 10]):,}**" in table[-1]


def test_draw_family_comparison_bars_match_results():
    figure = draw_family_comparison({"MLP": (50_890, 0.9), "CNN": (5_258, 0.93)})
    sizes, accuracies = ([bar.get_height() for bar in axes.patches] for axes in figure.axes)
    assert sizes == [50_890, 5_258]
    assert accuracies == pytest.approx([90.0, 93.0])
    plt.close(figure)


def test_draw_family_comparison_rejects_empty_results():
    with pytest.raises(ValueError, match="results is empty"):
        draw_family_comparison({})
