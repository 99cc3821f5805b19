"""Tests for helpers.lessons.network_families: the CNN, parameter counts, layer summaries and the figures."""

import math

import pytest
import torch
from torch import nn

from helpers.core.models import mlp
from helpers.kernels.convolution import FILTERS
from helpers.lessons.network_families import (
    FamilyResult,
    check_feature_map,
    count_parameters,
    layer_table,
    plot_attention_vs_recurrence,
    plot_family_comparison,
    plot_rnn_memory,
    plot_sliding_filter,
    small_cnn,
    summarize_layers,
)


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
    assert "**50,890**" in table[-1]


def test_plot_family_comparison_bars_match_results():
    figure = plot_family_comparison({"MLP": FamilyResult(50_890, 0.9), "CNN": FamilyResult(5_258, 0.93)})
    sizes, accuracies = ([bar.get_height() for bar in axes.patches] for axes in figure.axes)
    assert sizes == [50_890, 5_258]
    assert accuracies == pytest.approx([90.0, 93.0])


def test_plot_family_comparison_rejects_empty_results():
    with pytest.raises(ValueError, match="results is empty"):
        plot_family_comparison({})


@pytest.mark.parametrize("position", [0, 17, 35])
def test_plot_fills_the_feature_map_up_to_the_position(position):
    image = torch.rand(8, 8, generator=torch.Generator().manual_seed(3))
    figure = plot_sliding_filter(image, FILTERS["sharpen"], position, "sharpen")
    shown = figure.axes[2].images[0].get_array()
    filled = [not math.isnan(value) for value in shown.filled(math.nan).flatten()]
    assert filled == [index <= position for index in range(36)]


def test_plot_rejects_a_position_outside_the_feature_map():
    with pytest.raises(ValueError, match=r"position must lie in \[0, 36\)"):
        plot_sliding_filter(torch.rand(8, 8), FILTERS["blur"], 36)


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_plot_rnn_memory_shows_state_and_influence(weight):
    inputs = torch.tensor([1.0, 0.0, 2.0, 1.0])
    figure = plot_rnn_memory(inputs, weight)
    state = figure.axes[0].lines[1].get_ydata()
    expected_state = [sum(weight ** (t - s) * inputs[s] for s in range(t + 1)) for t in range(4)]
    assert list(state) == pytest.approx([float(value) for value in expected_state])
    heights = [bar.get_height() for bar in figure.axes[1].patches]
    assert heights == pytest.approx([weight**3, weight**2, weight, 1.0])


@pytest.mark.parametrize(
    "inputs",
    [torch.tensor([1.0, -1.0, 1.0]), torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]), torch.ones(2, 2)],
)
def test_plot_rnn_memory_rejects_unsuitable_inputs(inputs):
    with pytest.raises(ValueError, match="non-negative numbers that starts and ends with a positive one"):
        plot_rnn_memory(inputs, 0.5)


def test_plot_attention_vs_recurrence_panels():
    words = "a b c d".split()
    weights = torch.softmax(torch.randn(4, 4), dim=-1)
    figure = plot_attention_vs_recurrence(words, weights)
    steps = figure.axes[0].images[0].get_array()
    assert [steps[3, j] for j in range(4)] == [3, 2, 1, 0]
    assert steps.mask[0, 1]  # an RNN cannot reach ahead
    torch.testing.assert_close(torch.as_tensor(figure.axes[1].images[0].get_array().data), weights)


def test_plot_attention_vs_recurrence_rejects_mismatched_weights():
    with pytest.raises(ValueError, match=r"weights must have shape \(3, 3\) for 3 words"):
        plot_attention_vs_recurrence("a b c".split(), torch.rand(3, 4))


def feature_map_solution():
    from notebook_code import solution_namespace

    return solution_namespace("01-network-families", "my_feature_map", {"check_feature_map": check_feature_map})[
        "my_feature_map"
    ]


def test_the_reference_solution_of_the_feature_map_exercise_passes():
    feedback = check_feature_map(feature_map_solution())
    assert feedback.passed, feedback.message


def test_typical_wrong_feature_maps_fail_with_their_hint():
    solution = feature_map_solution()
    flipped = lambda image, kernel, bias: solution(image, kernel.flip(0, 1), bias)
    no_bias = lambda image, kernel, bias: solution(image, kernel, 0.0)
    one_short = lambda image, kernel, bias: solution(image, kernel, bias)[:-1, :-1]
    padded = lambda image, kernel, bias: torch.nn.functional.pad(solution(image, kernel, bias), (1, 1, 1, 1))
    for wrong, hint in [
        (flipped, "You flipped the kernel"),
        (no_bias, "The bias is missing"),
        (one_short, "one row and one column short"),
        (padded, "(window * kernel).sum() + bias"),
    ]:
        feedback = check_feature_map(wrong)
        assert not feedback.passed and hint in feedback.message, feedback.message


def test_an_unwritten_feature_map_is_reported_as_not_written():
    def stub(image, kernel, bias):
        raise NotImplementedError

    assert check_feature_map(stub).message.startswith("Not written yet")
