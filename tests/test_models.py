"""Tests for helpers.core.models: the one MLP builder, for every network the course trains, and its initializations."""

import math

import pytest
import torch
from torch import nn

from helpers.core.models import initialize_weights, mlp
from helpers.kernels.dropout import Dropout


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def dense_parameters(sizes):
    """Weights plus biases of fully connected layers between consecutive sizes."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))


@pytest.mark.parametrize("sizes", [[784, 64, 10], [12, 7, 5, 3], [4, 1, 2]])
def test_mlp_layers_and_parameter_count(sizes):
    model = mlp(sizes)
    assert [(m.in_features, m.out_features) for m in linears(model)] == list(zip(sizes, sizes[1:]))
    assert sum(isinstance(m, nn.ReLU) for m in model) == len(sizes) - 2
    assert not isinstance(model[-1], nn.ReLU)
    assert sum(p.numel() for p in model.parameters()) == dense_parameters(sizes)
    assert model(torch.randn(5, sizes[0])).shape == (5, sizes[-1])


def test_mlp_flattens_images():
    assert mlp([784, 32, 10])(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_deep_structure_and_output_shape():
    model = mlp([784, 16, 16, 16, 10], "sigmoid")
    assert [type(m) for m in model] == [nn.Flatten] + [nn.Linear, nn.Sigmoid] * 3 + [nn.Linear]
    assert [(m.in_features, m.out_features) for m in linears(model)] == [(784, 16), (16, 16), (16, 16), (16, 10)]
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_batch_norm_sits_between_layer_and_activation():
    model = mlp([4, 8, 8, 3], "relu", batch_norm=True)
    assert [type(m) for m in model] == [nn.Flatten] + [nn.Linear, nn.BatchNorm1d, nn.ReLU] * 2 + [nn.Linear]


def test_dropout_follows_each_activation():
    model = mlp([784, 32, 32, 32, 10], dropout=0.25)
    assert [m.p for m in model if isinstance(m, Dropout)] == [0.25] * 3
    assert [type(m) for m in model][1:5] == [nn.Linear, nn.ReLU, Dropout, nn.Linear]
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\)"):
        mlp([784, 32, 10], dropout=1.0)


def test_the_lectures_network_is_one_call():
    model = mlp([784, 7, 3], batch_norm=True, flatten=False)
    assert [type(layer) for layer in model] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert model[0].weight.shape == (7, 784) and model[3].weight.shape == (3, 7)
    assert sum(p.numel() for p in model.parameters()) == (784 + 1) * 7 + 2 * 7 + (7 + 1) * 3
    assert model(torch.rand(5, 784)).shape == (5, 3)


def test_activation_takes_its_alpha():
    model = mlp([784, 32, 10], "elu", alpha=0.5, flatten=False)
    assert model(torch.zeros(5, 784)).shape == (5, 10)
    assert isinstance(model[1], nn.ELU) and model[1].alpha == 0.5
    with pytest.raises(ValueError, match="alpha=2.0 is not valid for Leaky ReLU"):
        mlp([784, 32, 10], "leaky_relu", alpha=2.0)


def test_default_init_is_pytorchs_own():
    torch.manual_seed(3)
    reference = nn.Linear(784, 32)
    torch.manual_seed(3)
    model = mlp([784, 32, 32, 32, 32, 10], "tanh", init="default")
    torch.testing.assert_close(linears(model)[0].weight, reference.weight)
    torch.testing.assert_close(linears(model)[0].bias, reference.bias)


def test_same_seed_gives_the_same_weights_whatever_the_activation():
    torch.manual_seed(0)
    sigmoid = mlp([784, 16, 16, 16, 10], "sigmoid", init="kaiming")
    torch.manual_seed(0)
    relu = mlp([784, 16, 16, 16, 10], "relu", init="kaiming")
    for a, b in zip(linears(sigmoid), linears(relu)):
        assert torch.equal(a.weight, b.weight)


def test_layers_are_built_first_to_last_as_nn_sequential_would():
    torch.manual_seed(5)
    reference = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    torch.manual_seed(5)
    model = mlp([6, 4, 2], batch_norm=True, flatten=False)
    assert str(model) == str(reference)
    for (name, ours), (_, theirs) in zip(model.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(ours, theirs), name


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [("xavier", math.sqrt(2 / (400 + 600))), ("kaiming", math.sqrt(2 / 400))],
)
def test_init_variances(init, expected_std):
    torch.manual_seed(0)
    layer = initialize_weights(nn.Sequential(nn.Linear(400, 600)), init)[0]
    assert layer.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    assert layer.weight.mean().item() == pytest.approx(0.0, abs=expected_std * 0.01)
    assert torch.count_nonzero(layer.bias) == 0


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="at least one hidden size"):
        mlp([784, 10])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer \(a number of units\), got 0"):
        mlp([784, 0, 10])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer .*got 16.5"):
        mlp([784, 16.5, 10])
    with pytest.raises(ValueError, match=r"sizes\[2\] must be a positive integer .*got True"):
        mlp([784, 16, True])
    with pytest.raises(ValueError, match="Unknown activation 'sigmoids'.*Did you mean 'sigmoid'"):
        mlp([784, 16, 10], "sigmoids")
    with pytest.raises(ValueError, match="unknown init 'he'; choose one of default, xavier, kaiming"):
        mlp([784, 16, 10], "relu", init="he")


@pytest.mark.parametrize("hidden", [0, -3, 2.5, True])
def test_a_hidden_layer_needs_a_positive_whole_number_of_units(hidden):
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer \(a number of units\)"):
        mlp([784, hidden, 10])
