"""Tests for helpers.core.diagnostics: every number checked against autograd, torch.nn or a hand calculation."""

import copy

import pytest
import torch
from torch import nn

from helpers.core.diagnostics import (
    LayerMonitor,
    activation_outputs,
    activation_statistics,
    dead_fraction,
    diagnose,
    format_report,
    saturated_fraction,
    train_monitored,
)
from helpers.core.training import fit


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


def test_hand_computed_gradients_and_update(chain):
    # loss = 3 * relu(2 * x) with x = 1: dloss/dw1 = 3 * 1 = 3, dloss/dw2 = relu(2) = 2
    optimizer = torch.optim.SGD(chain.parameters(), lr=0.1)
    with LayerMonitor(chain, optimizer) as monitor:
        chain(torch.ones(1, 1)).sum().backward()
        first, second = monitor.steps[-1]
        assert first.update_to_weight is None  # no step taken yet
        optimizer.step()
    assert (first.name, first.activation, second.activation) == ("0", "ReLU", "")
    assert first.grad_norm == pytest.approx(3.0) and first.grad_to_weight == pytest.approx(1.5)
    assert second.grad_norm == pytest.approx(2.0) and second.grad_to_weight == pytest.approx(2 / 3)
    assert first.mean == pytest.approx(2.0) and first.dead == 0.0 and first.saturated is None
    assert second.mean is None
    assert first.update_to_weight == pytest.approx(0.1 * 3 / 2)  # |lr * grad| / |w|
    assert second.update_to_weight == pytest.approx(0.1 * 2 / 3)
    assert len(monitor.steps) == 1


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.GELU])
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


def test_dead_units_are_those_never_positive_on_the_batch():
    x = torch.tensor([[1.0, -1.0, 0.0], [2.0, -3.0, 0.5]])
    assert dead_fraction(nn.ReLU(), x) == pytest.approx(1 / 3)  # only the middle unit is never positive
    assert dead_fraction(nn.ELU(), x) == pytest.approx(1 / 3)
    assert dead_fraction(nn.Sigmoid(), x) is None


def test_activation_statistics_of_a_batch_by_hand():
    x = torch.tensor([[-1.0, 2.0], [-3.0, 4.0]])
    stats = activation_statistics(nn.ReLU(), x, torch.relu(x))  # outputs [[0, 2], [0, 4]]
    assert stats["mean"] == pytest.approx(1.5) and stats["dead"] == pytest.approx(0.5)
    assert stats["std"] == pytest.approx(torch.tensor([0.0, 2.0, 0.0, 4.0]).std(correction=0).item())
    assert stats["spread"] == pytest.approx((0.0 + 1.0) / 2)  # per unit across the batch: 0 and 1
    assert stats["saturated"] is None


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


def test_an_activation_is_measured_as_it_ran_even_if_changed_in_place_later():
    model = nn.Sequential(nn.Linear(3, 3), nn.GELU(), nn.Dropout(0.5, inplace=True), nn.Linear(3, 2))
    inputs = torch.randn(4, 3)
    expected = nn.functional.gelu(model[0](inputs)).mean().item()
    torch.manual_seed(0)
    assert diagnose(model, inputs, torch.zeros(4, dtype=torch.long))[0].mean == pytest.approx(expected)


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
    for row, old, new in zip(monitor.steps[-1], before[::2], model[::2]):
        expected = (new.weight - old.weight).norm() / old.weight.norm()
        assert row.update_to_weight == pytest.approx(expected.item(), rel=1e-5)


def test_hooks_are_removed_at_the_end_of_the_with_block(chain):
    with LayerMonitor(chain) as monitor:
        chain(torch.ones(1, 1)).sum().backward()
    chain(torch.ones(1, 1)).sum().backward()
    assert len(monitor.steps) == 1
    assert not chain._forward_pre_hooks and not chain[0]._forward_hooks and not chain[1]._forward_hooks
    assert not chain[0].weight._backward_hooks


def test_activation_outputs_match_the_layers():
    model = small_mlp(nn.Sigmoid)
    inputs = torch.randn(7, 5)
    outputs = activation_outputs(model, inputs)
    first = torch.sigmoid(model[0](inputs))
    assert list(outputs) == ["1", "3"]
    torch.testing.assert_close(outputs["1"], first)
    torch.testing.assert_close(outputs["3"], torch.sigmoid(model[2](first)))


def test_format_report_has_a_line_per_layer(chain):
    with LayerMonitor(chain) as monitor:
        chain(torch.ones(1, 1)).sum().backward()
    lines = format_report(monitor.steps[-1]).splitlines()
    assert len(lines) == 3 and "grad norm" in lines[0]
    assert lines[1].split()[:5] == ["0", "ReLU", "2", "0", "0"]
    assert lines[1].split()[-3:] == ["3", "1.5", "-"]  # grad norm, grad/weight, no update yet
    assert lines[2].split()[:3] == ["2", "-", "-"]


def test_bad_input_is_rejected(chain):
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        diagnose("not a model", torch.ones(1, 1), torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="no nn.Linear layer"):
        diagnose(nn.Sequential(nn.ReLU()), torch.ones(1, 1), torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="one target per input"):
        diagnose(chain, torch.ones(3, 1), torch.zeros(2))
    with pytest.raises(ValueError, match="no activation module"):
        activation_outputs(nn.Linear(2, 2), torch.ones(1, 2))
    with pytest.raises(ValueError, match=r"shape \(batch, units\)"):
        dead_fraction(nn.ReLU(), torch.ones(3))


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
