"""Tests for the fast path of helpers/lessons/classifying_digits.py: the hand-derived step against autograd,
training against the shared loop."""

import copy

import pytest
import torch
from torch import nn

from helpers.core.models import mlp
from helpers.core.training import fit, train_epoch
from helpers.lessons import classifying_digits
from helpers.lessons.classifying_digits import LECTURE_LAYERS, FastLectureMLP, fit_fast, lecture_layers


def lecture_mlp() -> nn.Sequential:
    return mlp(LECTURE_LAYERS, batch_norm=True, flatten=False)


def small_mlp(seed: int = 0) -> nn.Sequential:
    """A lecture-shaped network on 20 inputs, with batch-norm scale, shift and statistics moved off their defaults."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    return model


def data(samples: int = 60, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(samples, 20, generator=generator), torch.randint(0, 4, (samples,), generator=generator)


@pytest.mark.parametrize("batch", [100, 37, 2])
def test_forward_backward_matches_autograd_values_gradients_and_running_statistics(batch):
    model = small_mlp()
    reference = copy.deepcopy(model)
    images, labels = data(batch)
    logits = reference(images)
    nn.functional.cross_entropy(logits, labels).backward()

    trainer = FastLectureMLP(model)
    fast_logits = torch.empty(batch, 4)
    with torch.no_grad():
        trainer.forward_backward(images, nn.functional.one_hot(labels, 4).float(), fast_logits)

    torch.testing.assert_close(fast_logits, logits.detach(), rtol=1e-5, atol=1e-6)
    for (name, parameter), grad in zip(reference.named_parameters(), trainer.grads):
        torch.testing.assert_close(grad, parameter.grad, rtol=1e-4, atol=1e-6, msg=f"gradient of {name}")
    for name in ("running_mean", "running_var"):
        torch.testing.assert_close(getattr(model[1], name), getattr(reference[1], name), rtol=1e-6, atol=1e-7)


def test_a_step_updates_the_weights_as_fused_adam_after_autograd_does():
    model = small_mlp()
    reference = copy.deepcopy(model)
    optimizer = torch.optim.Adam(reference.parameters(), fused=True)
    trainer = FastLectureMLP(model)
    for seed in range(3):  # several steps, so that Adam's moments and bias correction are exercised
        images, labels = data(50, seed)
        optimizer.zero_grad()
        nn.functional.cross_entropy(reference(images), labels).backward()
        optimizer.step()
        trainer.step(images, nn.functional.one_hot(labels, 4).float(), torch.empty(50, 4))
    for (name, expected), actual in zip(reference.state_dict().items(), model.state_dict().values()):
        # The first bias cannot change the output (batch norm subtracts it again): its gradient is zero up
        # to rounding, which Adam scales up to steps of up to lr in either direction on both paths; the
        # running mean follows the bias.
        tolerance = 3 * 1e-3 if name in ("0.bias", "1.running_mean") else 1e-6
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=tolerance, msg=f"after three steps: {name}")


def test_training_matches_the_autograd_loop_in_history_order_and_evaluation():
    images, labels = data(250)
    model, reference = small_mlp(), small_mlp()
    optimizer = torch.optim.Adam(reference.parameters())
    expected = [
        train_epoch(reference, images, labels, optimizer, batch_size=20, generator=torch.Generator().manual_seed(epoch))
        for epoch in range(3)
    ]
    trainer = FastLectureMLP(model)
    actual = [
        trainer.train_epoch(images, labels, batch_size=20, generator=torch.Generator().manual_seed(epoch))
        for epoch in range(3)
    ]
    assert [value for epoch in actual for value in (epoch.loss, epoch.accuracy)] == pytest.approx(
        [value for epoch in expected for value in (epoch.loss, epoch.accuracy)], rel=1e-4
    )
    assert model[1].num_batches_tracked == reference[1].num_batches_tracked == 3 * 13
    model.eval(), reference.eval()
    # In eval mode the first bias no longer cancels exactly against the running mean that lags it, so the
    # rounding noise Adam turns into bias steps (see above) shows up, at the level of 1e-3.
    torch.testing.assert_close(model(images), reference(images), rtol=0, atol=5e-3)
    assert torch.equal(model(images).argmax(dim=1), reference(images).argmax(dim=1))


def test_fit_fast_follows_fit_on_the_lecture_network_with_one_generator_for_all_epochs():
    torch.manual_seed(1234)
    model = lecture_mlp()
    reference = copy.deepcopy(model)
    images, labels = torch.rand(300, 784, generator=torch.Generator().manual_seed(0)), torch.arange(300) % 10
    val = images[:50], labels[:50]
    history = fit_fast(model, (images, labels), epochs=3, val=val, shuffle=torch.Generator().manual_seed(5))
    expected = fit(reference, (images, labels), epochs=3, val=val, seed=5)
    for field in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert getattr(history, field) == pytest.approx(getattr(expected, field), rel=1e-3), field


def test_a_shuffle_function_gives_each_epoch_its_own_generator():
    images, labels = data(100)
    seeds = iter(range(3))
    history = fit_fast(
        small_mlp(),
        (images, labels),
        epochs=3,
        batch_size=20,
        shuffle=lambda: torch.Generator().manual_seed(next(seeds)),
    )
    trainer = FastLectureMLP(small_mlp())
    expected = [
        trainer.train_epoch(images, labels, batch_size=20, generator=torch.Generator().manual_seed(seed))
        for seed in range(3)
    ]
    assert list(zip(history.train_loss, history.train_accuracy)) == [(e.loss, e.accuracy) for e in expected]


class ReadBackCounter:
    """Counts every way a tensor's value can reach Python (and CUDA synchronisations) while installed."""

    METHODS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")

    def __init__(self, monkeypatch):
        self.calls = []
        for name in self.METHODS:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._counted(name, original))
        monkeypatch.setattr(torch.cuda, "synchronize", self._counted("synchronize", lambda *a, **k: None))

    def _counted(self, name, original):
        def counted(*args, **kwargs):
            self.calls.append(name)
            return original(*args, **kwargs)

        return counted


@pytest.mark.parametrize("samples", [100, 400])
def test_an_epoch_reads_back_from_the_device_once_however_many_steps_it_has(monkeypatch, samples):
    images, labels = data(samples)
    trainer = FastLectureMLP(small_mlp())
    counter = ReadBackCounter(monkeypatch)
    trainer.train_epoch(images, labels, batch_size=10, generator=torch.Generator().manual_seed(0))
    assert counter.calls == ["tolist"]


def test_the_graph_path_copies_batches_through_static_buffers_and_undoes_its_warm_up(monkeypatch):
    """On a CPU a stand-in for CUDA graph capture runs the warm-up for real and replays by calling the step."""
    captured = []

    def fake_capture(step, args):
        for _ in range(3):
            step(*args)
        captured.append(args)
        return lambda: step(*args)

    monkeypatch.setattr(classifying_digits, "capture_cuda_graph", fake_capture)
    images, labels = data(250)  # 12 full batches of 20 go through the graph, the last 10 samples run eagerly
    eager, graphed = FastLectureMLP(small_mlp()), FastLectureMLP(small_mlp())
    graphed.graphs = True
    for epoch in range(2):
        assert graphed.train_epoch(
            images, labels, batch_size=20, generator=torch.Generator().manual_seed(epoch)
        ) == eager.train_epoch(images, labels, batch_size=20, generator=torch.Generator().manual_seed(epoch))
    assert len(captured) == 1 and captured[0][0].shape == (20, 20)
    for expected, actual in zip(eager.model.state_dict().values(), graphed.model.state_dict().values()):
        assert torch.equal(actual, expected)
    assert torch.equal(graphed.steps, eager.steps)


def test_graphs_are_the_default_on_cuda_only_and_refused_elsewhere():
    assert FastLectureMLP(small_mlp()).graphs is False
    with pytest.raises(ValueError, match="CUDA graphs need a model on a CUDA device"):
        FastLectureMLP(small_mlp(), graphs=True)


def test_only_the_lecture_network_is_accepted():
    with pytest.raises(TypeError, match=r"Sequential\(Linear, BatchNorm1d, ReLU, Linear\)"):
        lecture_layers(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)))
    model = small_mlp()
    model[1] = nn.BatchNorm1d(8, affine=False)
    with pytest.raises(ValueError, match="affine=True"):
        lecture_layers(model)
    with pytest.raises(ValueError, match="float32 on one device"):
        lecture_layers(small_mlp().double())


def test_bad_data_is_refused_with_the_fix():
    trainer = FastLectureMLP(small_mlp())
    images, labels = data(61)
    with pytest.raises(ValueError, match="leaves a mini-batch of one"):
        trainer.train_epoch(images, labels, batch_size=20)
    with pytest.raises(ValueError, match=r"expected \(N, features\) float32 inputs"):
        trainer.train_epoch(images, labels[:60])
    with pytest.raises(ValueError, match="float64"):
        trainer.train_epoch(images.double(), labels, batch_size=20)
    with pytest.raises(ValueError, match="move the data with .to"):
        trainer.train_epoch(images.to("meta"), labels, batch_size=20)
