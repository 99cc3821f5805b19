"""Tests for helpers.core.models: structure, the three initializations, and bad arguments."""

import math

import pytest
import torch
from torch import nn

from helpers.core.models import deep_mlp, initialize_weights


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def test_structure_and_output_shape():
    model = deep_mlp(3, 16, "sigmoid")
    assert [type(m) for m in model] == [nn.Flatten] + [nn.Linear, nn.Sigmoid] * 3 + [nn.Linear]
    assert [(m.in_features, m.out_features) for m in linears(model)] == [(784, 16), (16, 16), (16, 16), (16, 10)]
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_batch_norm_sits_between_layer_and_activation():
    model = deep_mlp(2, 8, "relu", batch_norm=True, in_features=4, classes=3)
    assert [type(m) for m in model] == [nn.Flatten] + [nn.Linear, nn.BatchNorm1d, nn.ReLU] * 2 + [nn.Linear]


def test_default_init_is_pytorchs_own():
    torch.manual_seed(3)
    reference = nn.Linear(784, 32)
    torch.manual_seed(3)
    model = deep_mlp(4, 32, "tanh", "default")
    torch.testing.assert_close(linears(model)[0].weight, reference.weight)
    torch.testing.assert_close(linears(model)[0].bias, reference.bias)


def test_same_seed_gives_the_same_weights_whatever_the_activation():
    torch.manual_seed(0)
    sigmoid = deep_mlp(3, 16, "sigmoid", "kaiming")
    torch.manual_seed(0)
    relu = deep_mlp(3, 16, "relu", "kaiming")
    for a, b in zip(linears(sigmoid), linears(relu)):
        assert torch.equal(a.weight, b.weight)


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
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        deep_mlp(0, 16)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        deep_mlp(2, 16.5)
    with pytest.raises(ValueError, match="Unknown activation 'sigmoids'.*Did you mean 'sigmoid'"):
        deep_mlp(2, 16, "sigmoids")
    with pytest.raises(ValueError, match="unknown init 'he'; choose one of default, xavier, kaiming"):
        deep_mlp(2, 16, "relu", "he")
