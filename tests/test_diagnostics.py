"""Tests for helpers.core.diagnostics: every number checked against autograd, torch.nn or a hand calculation."""

import copy

import pytest
import torch
from torch import nn

from helpers.core.diagnostics import (
    LayerMonitor,
    activation_outputs,
    dead_fraction,
    diagnose,
    format_report,
    saturated_fraction,
    train_monitored,
)
from helpers.core.training import fit


def sum_loss(outputs, _targets):
    return outputs.sum()


@pytest.fixture
def chain():
    """x -> 2x -> ReLU -> 3 * (.): every gradient can be worked out by hand."""
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 1, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(2.0)
        model[2].weight.fill_(3.0)
    return model


def small_mlp(activation: type[nn.Module], seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), activation(), nn.Linear(8, 6), activation(), nn.Linear(6, 3))


def test_hand_computed_gradients(chain):
    # loss = 3 * relu(2 * x) with x = 1: dloss/dw1 = 3 * 1 = 3, dloss/dw2 = relu(2) = 2
    first, second = diagnose(chain, torch.ones(1, 1), torch.zeros(1), loss_fn=sum_loss)
    assert (first.name, first.activation, second.activation) == ("0", "ReLU", "")
    assert first.grad_norm == pytest.approx(3.0) and first.grad_to_weight == pytest.approx(1.5)
    assert second.grad_norm == pytest.approx(2.0) and second.grad_to_weight == pytest.approx(2 / 3)
    assert first.mean == pytest.approx(2.0) and first.dead == 0.0 and first.saturated is None
    assert second.mean is None and first.update_to_weight is None


def test_sgd_update_ratio_by_hand(chain):
    optimizer = torch.optim.SGD(chain.parameters(), lr=0.1)
    with LayerMonitor(chain, optimizer) as monitor:
        optimizer.zero_grad()
        chain(torch.ones(1, 1)).sum().backward()
        optimizer.step()
    first, second = monitor.latest
    assert first.update_to_weight == pytest.approx(0.1 * 3 / 2)
    assert second.update_to_weight == pytest.approx(0.1 * 2 / 3)


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU])
def test_diagnose_matches_autograd_and_torch(activation):
    model = small_mlp(activation)
    inputs, targets = torch.randn(32, 5) * 3, torch.randint(0, 3, (32,))
    report = diagnose(model, inputs, targets)
    assert all(p.grad is None for p in model.parameters()), "diagnose must not touch .grad"

    nn.functional.cross_entropy(model(inputs), targets).backward()
    hidden = [model[1](model[0](inputs))]
    hidden.append(model[3](model[2](hidden[0])))
    for row, linear in zip(report, [model[0], model[2], model[4]]):
        assert row.grad_norm == pytest.approx(linear.weight.grad.norm().item(), rel=1e-5)
        assert row.weight_norm == pytest.approx(linear.weight.norm().item(), rel=1e-6)
        assert row.grad_to_weight == pytest.approx(row.grad_norm / row.weight_norm)
    for row, output in zip(report, hidden):
        assert row.activation == activation.__name__
        assert row.mean == pytest.approx(output.mean().item(), abs=1e-6)
        assert row.std == pytest.approx(output.std(correction=0).item(), rel=1e-5)
        assert row.spread == pytest.approx(output.std(dim=0, correction=0).mean().item(), rel=1e-5)


def test_spread_is_zero_when_every_input_gives_the_same_output():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.zero_()  # the first layer ignores its input
    report = diagnose(model, torch.randn(8, 3), torch.randint(0, 2, (8,)))
    assert report[0].spread == 0.0 and report[0].std > 0  # the biases still differ from unit to unit
    assert report[0].grad_to_weight is None  # undefined for an all-zero weight


def test_saturation_uses_the_slope():
    x = torch.tensor([[-8.0, -4.0, 0.0, 3.0, 5.0]])
    slope = torch.sigmoid(x) * (1 - torch.sigmoid(x))
    assert saturated_fraction(nn.Sigmoid(), x) == pytest.approx((slope < 0.05 * 0.25).float().mean().item())
    assert saturated_fraction(nn.Sigmoid(), x) == pytest.approx(2 / 5)  # only -8 and 5 are that flat
    assert saturated_fraction(nn.Tanh(), x) == pytest.approx(4 / 5)  # tanh flattens sooner: all but 0
    assert saturated_fraction(nn.ReLU(), x) is None


def test_dead_units_linear_and_conv():
    x = torch.tensor([[1.0, -1.0, 0.0], [2.0, -3.0, 0.5]])
    assert dead_fraction(nn.ReLU(), x) == pytest.approx(1 / 3)  # only the middle unit is never positive
    assert dead_fraction(nn.Sigmoid(), x) is None

    maps = torch.randn(4, 3, 5, 5)
    maps[:, 1:] = -maps[:, 1:].abs()  # channels 1 and 2 are negative at every position of every sample...
    maps[3, 2, 4, 4] = 0.1  # ...but channel 2 fires once, which keeps it alive
    expected = sum(not (maps[:, c] > 0).any() for c in range(3)) / 3
    assert expected == pytest.approx(1 / 3)
    assert dead_fraction(nn.LeakyReLU(), maps) == pytest.approx(expected)


def test_dead_units_in_a_network_match_a_manual_count():
    model = small_mlp(nn.ReLU)
    with torch.no_grad():
        model[0].bias[:3] = -100.0  # three of eight first-layer units can never fire
    report = diagnose(model, torch.randn(64, 5), torch.randint(0, 3, (64,)))
    assert report[0].dead == pytest.approx(3 / 8)


def test_activation_is_found_behind_batch_norm():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Dropout(0.0), nn.Linear(6, 2))
    inputs = torch.randn(16, 4)
    report = diagnose(model, inputs, torch.randint(0, 2, (16,)))
    expected = torch.tanh(nn.functional.batch_norm(model[0](inputs), None, None, training=True))
    assert [row.activation for row in report] == ["Tanh", ""]
    assert report[0].mean == pytest.approx(expected.mean().item(), abs=1e-6)


def test_monitor_records_training_steps_not_evaluation():
    model = small_mlp(nn.Tanh)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = (torch.randn(60, 5), torch.randint(0, 3, (60,)))
    with LayerMonitor(model, optimizer) as monitor:
        fit(model, data, epochs=2, val=data, optimizer=optimizer, batch_size=20)
    assert len(monitor.steps) == 2 * 3  # three batches per epoch; validation passes leave no trace
    assert all(value is not None for value in monitor.series("update_to_weight", layer=0))
    assert len(monitor.series("grad_norm", layer=-1)) == 6


def test_monitor_update_ratio_matches_a_manual_adam_step():
    model = small_mlp(nn.ReLU)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = copy.deepcopy(model)
    with LayerMonitor(model, optimizer) as monitor:
        nn.functional.cross_entropy(model(torch.randn(10, 5)), torch.randint(0, 3, (10,))).backward()
        optimizer.step()
    for row, old, new in zip(monitor.latest, before[::2], model[::2]):
        expected = (new.weight - old.weight).norm() / old.weight.norm()
        assert row.update_to_weight == pytest.approx(expected.item(), rel=1e-5)


def test_hooks_are_removed(chain):
    monitor = LayerMonitor(chain)
    chain(torch.ones(1, 1)).sum().backward()
    monitor.remove()
    chain(torch.ones(1, 1)).sum().backward()
    assert len(monitor.steps) == 1
    assert not chain._forward_pre_hooks and not chain[0]._forward_hooks and not chain[1]._forward_hooks


def test_activation_outputs_match_the_layers():
    model = small_mlp(nn.Sigmoid)
    inputs = torch.randn(7, 5)
    outputs = activation_outputs(model, inputs)
    first = torch.sigmoid(model[0](inputs))
    assert list(outputs) == ["1", "3"]
    torch.testing.assert_close(outputs["1"], first)
    torch.testing.assert_close(outputs["3"], torch.sigmoid(model[2](first)))


def test_format_report_has_a_line_per_layer(chain):
    lines = format_report(diagnose(chain, torch.ones(1, 1), torch.zeros(1), loss_fn=sum_loss)).splitlines()
    assert len(lines) == 3 and "grad norm" in lines[0]
    assert lines[1].split()[:5] == ["0", "ReLU", "2", "0", "0"]
    assert lines[2].split()[:3] == ["2", "-", "-"]


def test_bad_input_is_rejected(chain):
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        LayerMonitor("not a model")
    with pytest.raises(ValueError, match="no nn.Linear or convolution layer"):
        LayerMonitor(nn.Sequential(nn.ReLU()))
    with pytest.raises(TypeError, match="must be a torch.optim.Optimizer"):
        LayerMonitor(chain, optimizer="sgd")
    other = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="holds none of the model's weights"):
        LayerMonitor(chain, other)
    with pytest.raises(TypeError, match="tuple of nn.Module classes"):
        LayerMonitor(chain, activation_types=("relu",))
    with pytest.raises(RuntimeError, match="no step recorded yet"):
        _ = LayerMonitor(chain).latest
    with pytest.raises(ValueError, match="one target per input"):
        diagnose(chain, torch.ones(3, 1), torch.zeros(2))
    with pytest.raises(ValueError, match="single number"):
        diagnose(chain, torch.ones(3, 1), torch.zeros(3), loss_fn=lambda outputs, _targets: outputs)
    with pytest.raises(ValueError, match="no activation module"):
        activation_outputs(nn.Linear(2, 2), torch.ones(1, 2))
    with pytest.raises(ValueError, match="batch dimension first"):
        dead_fraction(nn.ReLU(), torch.ones(3))


def test_series_rejects_unknown_fields_and_layers(chain):
    with LayerMonitor(chain) as monitor:
        chain(torch.ones(1, 1)).sum().backward()
    with pytest.raises(ValueError, match="unknown field 'gradient'"):
        monitor.series("gradient", layer=0)
    with pytest.raises(ValueError, match="layer 2 does not exist"):
        monitor.series("grad_norm", layer=2)


def test_shared_layer_is_rejected():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    with pytest.raises(ValueError, match="ran twice in one forward pass"):
        diagnose(model, torch.ones(2, 3), torch.zeros(2, dtype=torch.long))


def test_train_monitored_follows_the_sgd_rule():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(40, 5, generator=generator)
    tiny_data = images, (images[:, 0] > 0).long() + (images[:, 1] > 0).long()
    run = train_monitored("relu", small_mlp(nn.ReLU), tiny_data, tiny_data, lr=0.05, epochs=2)
    assert run.history.epochs == 2 and len(run.monitor.steps) == 2 * 1  # one batch of 40 (batch size 100) per epoch
    for row in run.monitor.steps[0]:
        # plain SGD: the update is lr times the gradient, so the ratios differ by exactly lr
        assert row.update_to_weight == pytest.approx(0.05 * row.grad_to_weight, rel=1e-5)
    with pytest.raises(ValueError, match="lr must be a positive learning rate"):
        train_monitored("x", small_mlp(nn.ReLU), tiny_data, tiny_data, lr=0.0, epochs=1)


def test_activation_changed_in_place_later_is_rejected():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Dropout(0.5, inplace=True), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="changed in place later in the forward pass"):
        diagnose(model, torch.ones(4, 3), torch.zeros(4, dtype=torch.long))


def test_a_step_is_read_back_again_after_more_measurements(chain):
    optimizer = torch.optim.SGD(chain.parameters(), lr=0.1)
    with LayerMonitor(chain, optimizer) as monitor:
        chain(torch.ones(1, 1)).sum().backward()
        assert monitor.latest[0].grad_norm == pytest.approx(3.0) and monitor.latest[0].update_to_weight is None
        optimizer.step()
    assert monitor.latest[0].update_to_weight == pytest.approx(0.1 * 3 / 2)
    assert len(monitor.steps) == 1
