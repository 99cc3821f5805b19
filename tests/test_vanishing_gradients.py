"""Tests for helpers.lessons.vanishing_gradients: the chains against torch.nn and autograd, the runs against SGD's rule."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from notebook_code import solution_namespace
from torch import nn

from helpers.core.diagnostics import diagnose, train_monitored
from helpers.core.models import mlp
from helpers.core.seeding import seed_everything
from helpers.lessons.vanishing_gradients import (
    chain_slope,
    check_update_ratio,
    deep_sizes,
    inactive_per_layer,
    plot_activation_histograms,
    plot_deep_mlp_at_init,
    plot_depth_distribution,
    plot_forward_collapse,
    plot_gradient_bound,
    plot_inactive_units,
    plot_per_layer,
    plot_training,
    plot_update_ratios,
    reports_at_init,
    sigmoid_fixed_point,
    stack_activation,
    train_counting_inactive,
)


@pytest.fixture(scope="module")
def tiny_data():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(40, 5, generator=generator)
    return images, (images[:, 0] > 0).long() + (images[:, 1] > 0).long()


def tiny_net(activation: str = "relu") -> nn.Sequential:
    seed_everything(0)
    return mlp([5, 8, 8, 8, 3], activation, init="kaiming")


def test_stack_activation_matches_torch_nn():
    x = torch.linspace(-6, 6, 13)
    stack = stack_activation("sigmoid", x, 4)
    expected = [x]
    for _ in range(4):
        expected.append(nn.Sigmoid()(expected[-1]))
    torch.testing.assert_close(stack, torch.stack(expected))


def test_relu_is_idempotent():
    stack = stack_activation("relu", torch.linspace(-3, 3, 7), 5)
    for row in stack[2:]:
        torch.testing.assert_close(row, stack[1])


def test_fixed_point():
    p = sigmoid_fixed_point()
    assert torch.sigmoid(torch.tensor(p, dtype=torch.float64)).item() == pytest.approx(p, abs=1e-11)
    assert p == pytest.approx(0.659, abs=1e-3)


def test_chain_slope_is_the_product_of_slopes_and_obeys_the_bound():
    x = torch.linspace(-8, 8, 33, dtype=torch.float64)
    a1 = torch.sigmoid(x)
    by_hand = (a1 * (1 - a1)) * (torch.sigmoid(a1) * (1 - torch.sigmoid(a1)))  # chain rule for two layers
    torch.testing.assert_close(chain_slope(2, x), by_hand)
    for depth in (1, 3, 6):
        assert chain_slope(depth, x).max().item() <= 0.25**depth


def test_bad_depth_is_rejected():
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        stack_activation("tanh", torch.zeros(3), 0)
    with pytest.raises(ValueError, match="max_depth must be a positive integer"):
        plot_gradient_bound(2.5)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        deep_sizes(0, 64)
    assert deep_sizes(3, 16) == [784, 16, 16, 16, 10]


def test_gradient_bound_figure_draws_the_bound_above_the_measurement():
    bound, measured = plot_gradient_bound(6).axes[0].get_lines()
    np.testing.assert_allclose(bound.get_ydata(), 0.25 ** np.arange(1, 7))
    assert np.all(measured.get_ydata() <= bound.get_ydata())


def test_forward_figures_are_labelled():
    for figure in (plot_forward_collapse(3), plot_depth_distribution("tanh", 4)):
        for axis in figure.axes:
            assert axis.get_xlabel() and axis.get_ylabel() and axis.get_title()
    assert "outputs span [0.622, 0.675]" in plot_depth_distribution("sigmoid", 3).axes[0].get_title()


def test_reports_at_init_share_weights_and_match_diagnose():
    batch = torch.rand(6, 1, 28, 28), torch.arange(6)
    reports = reports_at_init(batch, ["sigmoid", "relu"], depth=2, init="kaiming", width=8)
    assert reports["sigmoid"][0].weight_norm == reports["relu"][0].weight_norm  # same seed, same weights
    seed_everything(0)
    direct = diagnose(mlp(deep_sizes(2, 8), "tanh", init="xavier"), *batch)
    assert reports_at_init(batch, ["tanh"], depth=2, init="xavier", width=8)["tanh"] == direct


def test_per_layer_plots(tiny_data):
    reports = {"relu": diagnose(tiny_net(), *tiny_data), "tanh": diagnose(tiny_net("tanh"), *tiny_data)}
    figure = plot_per_layer(reports, "grad_norm", Figure().subplots(), ylabel="gradient")
    axis = figure.axes[0]
    assert len(axis.get_lines()) == 2 and axis.get_yscale() == "log"
    np.testing.assert_allclose(axis.get_lines()[0].get_ydata(), [row.grad_norm for row in reports["relu"]])
    with pytest.raises(ValueError, match="unknown field 'gradient'"):
        plot_per_layer(reports, "gradient", axis, ylabel="")


def test_histograms_draw_up_to_four_layers():
    outputs = {str(k): torch.randn(50, 4) for k in range(10)}
    axis = plot_activation_histograms(outputs, Figure().subplots()).axes[0]
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["layer 1", "layer 4", "layer 7", "layer 10"]


def test_explorer_frame_has_three_labelled_panels():
    batch = torch.rand(20, 1, 28, 28), torch.arange(20) % 10
    figure = plot_deep_mlp_at_init(batch, depth=3, activation="sigmoid", init="default", width=8)
    assert [axis.get_title() for axis in figure.axes][0] == "Forward: does the input matter?"
    assert all(axis.get_xlabel() and axis.get_ylabel() for axis in figure.axes)


def test_run_figures(tiny_data):
    runs = [train_monitored(name, tiny_net(name), tiny_data, tiny_data, lr=0.1, epochs=2) for name in ("relu", "tanh")]
    training = plot_training(runs)
    assert [axis.get_title() for axis in training.axes][:2] == ["Training loss", "Validation accuracy (chance = 0.1)"]
    ratios = plot_update_ratios(runs)
    assert all(any(np.allclose(line.get_ydata(), 1e-3) for line in axis.get_lines()) for axis in ratios.axes)


def test_inactive_units_are_counted_per_layer_on_every_image():
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.LeakyReLU(0.1), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]))
        model[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
    images = torch.tensor([[1.0, 5.0], [2.0, -5.0]])  # unit 0 positive, unit 1 negative, unit 2 always -1
    fractions = inactive_per_layer(model, images)
    assert len(fractions) == 2 and fractions[0] == pytest.approx(2 / 3)
    assert inactive_per_layer(model, images[:1])[0] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no ReLU-like activation"):
        inactive_per_layer(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), images)


def test_counting_run_records_before_training_and_after_every_epoch(tiny_data):
    counted = train_counting_inactive("relu", tiny_net(), tiny_data, tiny_data, lr=0.1, epochs=2)
    assert len(counted.inactive) == 3 and all(len(row) == 3 for row in counted.inactive)
    assert counted.run.history.epochs == 2 and counted.run.label == "relu"
    figure = plot_inactive_units([counted, counted])
    assert len(figure.axes) == 2 and len(figure.axes[0].get_lines()) == 3
    assert figure.axes[0].get_ylabel() and len(figure.legends) == 1


def test_the_update_ratio_solution_passes_its_checker():
    solution = solution_namespace("03-vanishing-gradients", "my_update_ratio")["my_update_ratio"]
    feedback = check_update_ratio(solution)
    assert feedback.passed, feedback.message


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda b, a: (a - b).norm().item(), "Divide by the size of the weights"),
        (lambda b, a: ((a - b).norm() / a.norm()).item(), "Divide by the weights before the step"),
        (lambda b, a: ((a.norm() - b.norm()) / b.norm()).item(), "not the change of the norms"),
    ],
    ids=["not-divided", "divided-by-after", "change-of-norms"],
)
def test_typical_update_ratio_mistakes_earn_their_hint(wrong, hint):
    feedback = check_update_ratio(wrong)
    assert not feedback.passed and hint in feedback.message, feedback.message
