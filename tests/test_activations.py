import matplotlib

matplotlib.use("Agg")
import pytest
import torch
from matplotlib.figure import Figure

from helpers.activations import (
    ACTIVATION_NAMES,
    activate,
    autograd_derivative,
    canonical_parameters,
    derivative,
    get_activation,
    inactive_unit_fraction,
    plot_activation,
    torch_activation,
)

# Avoid exactly 0, where the one-sided derivatives of the rectifiers differ by convention.
X = torch.cat([torch.linspace(-8, -1e-3, 500), torch.linspace(1e-3, 8, 500)]).double()
CASES = [(name, None) for name in ACTIVATION_NAMES] + [
    ("leaky_relu", 0.2), ("prelu", 0.05), ("elu", 0.2), ("elu", 2.5),
]


@pytest.mark.parametrize("name, alpha", CASES)
def test_values_match_torch_nn(name, alpha):
    reference = torch_activation(name, alpha).double()
    torch.testing.assert_close(activate(name, X, alpha), reference(X))


@pytest.mark.parametrize("name, alpha", CASES)
def test_hand_written_derivative_matches_autograd_through_torch_nn(name, alpha):
    x = X.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(torch_activation(name, alpha).double()(x).sum(), x)
    torch.testing.assert_close(derivative(name, X, alpha), expected)
    torch.testing.assert_close(autograd_derivative(name, X, alpha), expected)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "prelu", "elu"])
def test_derivative_at_zero_follows_pytorch(name):
    x = torch.zeros(1, dtype=torch.double, requires_grad=True)
    (expected,) = torch.autograd.grad(torch_activation(name).double()(x).sum(), x)
    torch.testing.assert_close(derivative(name, x.detach()), expected)


def test_sigmoid_slope_is_at_most_a_quarter():
    slope = derivative("sigmoid", torch.linspace(-20, 20, 40001, dtype=torch.double))
    assert slope.max().item() == pytest.approx(0.25)
    assert (slope <= 0.25).all()


def test_relu_slope_is_zero_or_one_and_relu_is_idempotent():
    x = torch.randn(10_000)
    assert set(derivative("relu", x).unique().tolist()) == {0.0, 1.0}
    once = activate("relu", x)
    assert torch.equal(activate("relu", once), once)


def test_large_inputs_do_not_overflow():
    x = torch.tensor([-1000.0, 1000.0])
    for name in ACTIVATION_NAMES:
        assert torch.isfinite(activate(name, x)).all(), name
        assert torch.isfinite(derivative(name, x)).all(), name


def test_prelu_module_learns_its_alpha():
    module = torch_activation("prelu", 0.25)
    assert isinstance(module.weight, torch.nn.Parameter) and module.weight.item() == pytest.approx(0.25)


def test_unknown_name_lists_choices_and_suggests():
    with pytest.raises(ValueError, match=r"Unknown activation 'Leaky-ReLU'.*sigmoid, tanh.*Did you mean 'leaky_relu'\?"):
        get_activation("Leaky-ReLU")
    with pytest.raises(ValueError, match="Unknown activation 'softmax'"):
        activate("softmax", X)


@pytest.mark.parametrize(
    "name, alpha, message",
    [
        ("leaky_relu", 1.0, r"alpha=1.0 is not valid for Leaky ReLU: .*0 <= alpha < 1"),
        ("prelu", -0.1, "not valid for PReLU"),
        ("elu", 0.0, r"not valid for ELU: .*alpha > 0"),
        ("elu", float("nan"), "not valid for ELU"),
        ("sigmoid", 0.1, "Sigmoid has no parameter, but alpha=0.1 was given"),
    ],
)
def test_bad_alpha_rejected(name, alpha, message):
    with pytest.raises(ValueError, match=message):
        derivative(name, X, alpha)


def test_canonical_parameters_drop_unused_alpha():
    assert canonical_parameters("relu", 0.3) == ("relu", None)
    assert canonical_parameters("elu", 0.3) == ("elu", 0.3)


def test_plot_activation_ignores_alpha_it_does_not_use():
    figure = plot_activation("gelu", 0.5)
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert figure.axes[0].get_title() == "GELU"
    assert "alpha = 0.5" in plot_activation("elu", 0.5).axes[0].get_title()


def test_inactive_unit_fraction():
    pre = torch.tensor([[-1.0, 2.0, -0.5, 0.0], [-3.0, -1.0, -0.1, 0.0]])
    assert inactive_unit_fraction(pre) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match=r"shape \(batch, units\)"):
        inactive_unit_fraction(torch.zeros(3))


@pytest.mark.parametrize("span", [0, -2.0, float("inf"), float("nan"), "5"])
def test_plot_activation_needs_a_positive_span(span):
    with pytest.raises(ValueError, match="span must be a positive number"):
        plot_activation("relu", span=span)
