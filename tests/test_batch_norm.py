"""From-scratch batch normalization checked against `nn.BatchNorm1d` and autograd."""

import pytest
import torch
from torch import nn

import matplotlib.pyplot as plt

from helpers.batch_norm import (
    BatchNorm,
    accuracy_in_batches,
    plot_layer_statistics,
    plot_normalization_steps,
    train_deep_sigmoid,
)
from helpers.vanishing import train_monitored


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


def test_normalization_steps_figure_reports_saturation():
    figure = plot_normalization_steps(1.0, 0.0)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[1].endswith(": 0% saturated") and not labels[0].endswith(": 0% saturated")
    assert labels[1].split(": ")[1] == labels[2].split(": ")[1]  # gamma = 1, beta = 0 changes nothing
    plt.close(figure)
    figure = plot_normalization_steps(4.0, 3.0)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[1].endswith(": 0% saturated") and not labels[2].endswith(": 0% saturated")
    plt.close(figure)


def _tiny_mnist(n, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=generator), torch.randint(0, 10, (n,), generator=generator)


def test_train_deep_sigmoid_repeats_and_places_batch_norm_before_each_sigmoid():
    train, test = _tiny_mnist(60, 0), _tiny_mnist(30, 1)
    model, run = train_deep_sigmoid(True, train, test, seed=3, depth=3, width=8, epochs=2)
    kinds = [type(m) for m in model]
    assert kinds.count(nn.BatchNorm1d) == 3
    assert all(kinds[i + 1] is nn.Sigmoid for i, kind in enumerate(kinds) if kind is nn.BatchNorm1d)
    assert run.label == "with batch normalization" and len(run.monitor.steps) == 2
    _, again = train_deep_sigmoid(True, train, test, seed=3, depth=3, width=8, epochs=2)
    assert again.history == run.history
    plain, _ = train_deep_sigmoid(False, train, test, seed=3, depth=3, width=8, epochs=1)
    assert nn.BatchNorm1d not in [type(m) for m in plain]


def test_layer_statistics_one_line_per_hidden_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 5), BatchNorm(5), nn.Sigmoid(),
                          nn.Linear(5, 5), nn.Sigmoid(), nn.Linear(5, 2))
    data = (torch.randn(20, 4), torch.randint(0, 2, (20,)))
    run = train_monitored("with BatchNorm", model, data, data, lr=0.1, epochs=2)
    figure = plot_layer_statistics([run, run])
    top_left = figure.axes[0]
    assert len(top_left.get_lines()) == 2 and len(top_left.get_lines()[0].get_xdata()) == 2  # 2 layers, 2 steps
    assert top_left.get_title() == "with BatchNorm" and top_left.get_ylabel() == "mean of activations"
    assert top_left.get_lines()[1].get_ydata().tolist() == pytest.approx(run.monitor.series("mean", layer=1))
    bottom_left = figure.axes[2]
    assert bottom_left.get_yscale() == "log" and bottom_left.get_ylabel() == "std across the batch"
    assert bottom_left.get_lines()[0].get_ydata().tolist() == pytest.approx(run.monitor.series("spread", layer=0))
    plt.close(figure)


def test_accuracy_in_batches_train_mode_depends_on_batch_and_leaves_model_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), BatchNorm(3), nn.Linear(3, 2))
    images, labels = torch.randn(64, 3) * 5 + 3, torch.randint(0, 2, (64,))
    model(images)  # give the running statistics something to hold
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    expected = (model(images).argmax(1) == labels).float().mean().item()
    assert accuracy_in_batches(model, images, labels, batch_size=5, train_mode=False) == pytest.approx(expected)
    accuracy_in_batches(model, images, labels, batch_size=8, train_mode=True)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training
    with pytest.raises(ValueError, match="at least 2 samples"):
        accuracy_in_batches(model, images, labels, batch_size=1, train_mode=True)
    with pytest.raises(ValueError, match="as many labels as images"):
        accuracy_in_batches(model, images, labels[:3], batch_size=8, train_mode=False)


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
