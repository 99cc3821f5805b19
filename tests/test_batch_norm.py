"""From-scratch batch normalization checked against `nn.BatchNorm1d` and autograd."""

import pytest
import torch
from torch import nn

from helpers.kernels.batch_norm import BatchNorm


def _pair(features=6, momentum=0.1, seed=0):
    """Ours and PyTorch's, with the same random scale and shift."""
    torch.manual_seed(seed)
    reference = nn.BatchNorm1d(features, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.uniform_(0.5, 2.0)
        reference.bias.normal_()
    ours = BatchNorm(features, momentum=momentum).double()
    ours.load_state_dict(reference.state_dict())
    return ours, reference


def _batch(n=16, features=6, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(n, features, generator=generator, dtype=torch.float64) * 4 + 2).requires_grad_()


def test_training_mode_matches_nn_batchnorm1d_outputs_and_gradients():
    ours, reference = _pair()
    x = _batch()
    upstream = torch.randn(16, 6, dtype=torch.float64)
    (reference(x) * upstream).sum().backward()
    expected = [x.grad.clone(), reference.weight.grad, reference.bias.grad]
    x.grad = None
    out = ours(x)
    (out * upstream).sum().backward()
    assert torch.allclose(out, reference(x.detach()), atol=1e-12)
    for got, want in zip([x.grad, ours.weight.grad, ours.bias.grad], expected):
        assert torch.allclose(got, want, atol=1e-10)


def test_gradient_passes_gradcheck():
    ours, _ = _pair()
    assert torch.autograd.gradcheck(ours, (_batch(n=5),))


def test_training_output_is_standardized_before_scale_and_shift():
    ours = BatchNorm(6).double()
    out = ours(_batch())
    assert torch.allclose(out.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(out.var(0, unbiased=False), torch.ones(6, dtype=torch.float64), atol=1e-4)


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0])
def test_running_statistics_follow_nn_batchnorm1d(momentum):
    ours, reference = _pair(momentum=momentum)
    for seed in range(5):
        x = _batch(n=8 + seed, seed=seed).detach()
        ours(x)
        reference(x)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert torch.allclose(getattr(ours, name), getattr(reference, name), atol=1e-12), name


def test_eval_mode_uses_running_statistics_like_nn_batchnorm1d():
    ours, reference = _pair()
    for seed in range(3):
        x = _batch(seed=seed).detach()
        ours(x)
        reference(x)
    ours.eval(), reference.eval()
    single = _batch(n=1, seed=9).detach()
    assert torch.allclose(ours(single), reference(single), atol=1e-12)
    before = ours.running_mean.clone()
    ours(_batch(seed=10).detach())
    assert torch.equal(ours.running_mean, before)  # eval mode leaves the statistics alone


def test_state_dict_round_trips_into_nn_batchnorm1d():
    ours, _ = _pair()
    ours(_batch().detach())
    reference = nn.BatchNorm1d(6, dtype=torch.float64)
    reference.load_state_dict(ours.state_dict())
    assert torch.equal(reference.running_var, ours.running_var)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_features": 0}, "num_features must be a positive integer"),
        ({"num_features": 4, "eps": 0}, "eps must be a small positive number"),
        ({"num_features": 4, "momentum": 1.5}, r"momentum .* must lie in \[0, 1\]"),
        ({"num_features": 4, "momentum": -0.1}, r"momentum .* must lie in \[0, 1\]"),
    ],
)
def test_bad_settings_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm(**kwargs)


def test_bad_inputs_rejected():
    layer = BatchNorm(4)
    with pytest.raises(ValueError, match=r"2-D tensor.*nn.Flatten\(\)"):
        layer(torch.randn(3, 4, 5))
    with pytest.raises(ValueError, match="built for 4 features but got 5"):
        layer(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"at least 2 samples.*model.eval\(\)"):
        layer(torch.randn(1, 4))
    assert layer.eval()(torch.randn(1, 4)).shape == (1, 4)


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.float64])
def test_batch_norm_names_an_input_of_the_wrong_number_type(dtype):
    layer = BatchNorm(3)
    with pytest.raises(TypeError, match=f"weights are torch.float32 but the input is {dtype}; convert it first"):
        layer(torch.ones(4, 3, dtype=dtype))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_rejects_an_empty_batch(training):
    layer = BatchNorm(3).train(training)
    with pytest.raises(ValueError, match=r"empty batch \(0 samples\)"):
        layer(torch.ones(0, 3))
