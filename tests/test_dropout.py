"""From-scratch inverted dropout checked against `nn.Dropout` and autograd."""

import pytest
import torch
from torch import nn

from helpers.kernels.dropout import Dropout, check_drop_probability, dropout, dropout_mask


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9])
def test_same_output_as_nn_dropout_from_the_same_random_state(p):
    x = torch.randn(64, 32, dtype=torch.float64)
    torch.manual_seed(3)
    expected = nn.Dropout(p)(x)
    torch.manual_seed(3)
    assert torch.equal(Dropout(p)(x), expected)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_fraction_dropped_and_expected_value(p):
    x = torch.full((400, 500), 3.0)
    torch.manual_seed(0)
    ours, theirs = dropout(x, p), nn.Dropout(p)(x)
    for out in (ours, theirs):
        assert (out == 0).float().mean().item() == pytest.approx(p, abs=0.01)
        assert out.mean().item() == pytest.approx(3.0, rel=0.02)  # inverted scaling keeps the mean
    survivors = ours[ours != 0]
    assert torch.allclose(survivors, torch.full_like(survivors, 3.0 / (1 - p)))


def test_eval_mode_is_the_identity_like_nn_dropout():
    x = torch.randn(10, 7)
    layer, reference = Dropout(0.5).eval(), nn.Dropout(0.5).eval()
    assert torch.equal(layer(x), x) and torch.equal(reference(x), x)
    assert torch.equal(dropout(x, 0.5, training=False), x)
    assert layer.train().training and not torch.equal(layer(x), x)


def test_gradient_matches_autograd_through_nn_dropout():
    x = torch.randn(32, 16, requires_grad=True)
    weights = torch.randn(32, 16)
    torch.manual_seed(1)
    (nn.Dropout(0.3)(x) * weights).sum().backward()
    expected, x.grad = x.grad.clone(), None
    torch.manual_seed(1)
    (dropout(x, 0.3) * weights).sum().backward()
    assert torch.allclose(x.grad, expected)
    kept = expected != 0
    assert torch.allclose(x.grad[kept], weights[kept] / 0.7)


def test_generator_makes_masks_repeat_and_mask_is_binary():
    x = torch.zeros(20, 20)
    first = dropout_mask(x, 0.4, generator=torch.Generator().manual_seed(5))
    second = dropout_mask(x, 0.4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, second)
    assert set(first.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_p_outside_unit_interval_rejected(p):
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\).*pick e.g. p = 0.5"):
        Dropout(p)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        dropout(torch.ones(3), p)


def test_non_number_p_and_integer_tensor_rejected():
    with pytest.raises(TypeError, match="p must be a number"):
        check_drop_probability("0.5")
    with pytest.raises(TypeError, match="p must be a number"):
        check_drop_probability(True)
    with pytest.raises(TypeError, match=r"floating-point tensor.*x.float\(\)"):
        dropout(torch.ones(3, dtype=torch.long), 0.5)
