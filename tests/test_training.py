"""Tests for helpers.core.training: the one loop, the one evaluation, and their named results."""

import pytest
import torch
from torch import nn

from helpers.core.progress import TrainingProgress
from helpers.core.training import (
    Evaluation,
    History,
    Run,
    evaluate,
    evaluate_batches,
    fit,
    minibatches,
    run_epochs,
    tensor_batches,
    train_batches,
    train_epoch,
)


def toy_problem(n=200, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def test_minibatches_cover_every_index_once():
    batches = list(minibatches(10, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert torch.equal(torch.cat(list(minibatches(5, 2, shuffle=False))), torch.arange(5))


def test_bad_batch_size_rejected():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        list(minibatches(10, 0, shuffle=False))


def test_evaluate_matches_a_direct_computation():
    x, y = toy_problem()
    model = nn.Linear(2, 2)
    result = evaluate(model, x, y, batch_size=33)
    with torch.no_grad():
        logits = model(x)
    assert isinstance(result, Evaluation)
    assert result.loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert result.accuracy == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert not model.training


def test_train_epoch_takes_one_step_per_batch():
    x, y = toy_problem(n=50)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    train_epoch(model, x, y, optimizer, batch_size=20)
    assert len(steps) == 3 and model.training


def test_fit_learns_and_records_history():
    x, y = toy_problem()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = []
    history = fit(
        model, (x, y), val=(x, y), epochs=30, lr=0.05, batch_size=20, on_epoch=lambda epoch, h: seen.append(epoch)
    )
    assert isinstance(history, History) and history.epochs == 30 and seen == list(range(1, 31))
    assert len(history.val_accuracy) == 30
    assert history.train_loss[-1] < history.train_loss[0] / 3
    assert history.val_accuracy[-1] > 0.95


def test_fit_is_reproducible_from_a_seed():
    x, y = toy_problem()

    def run():
        torch.manual_seed(1)
        model = nn.Linear(2, 2)
        return fit(model, (x, y), epochs=3, seed=5).train_loss

    assert run() == run()


def test_mismatched_or_empty_data_rejected():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="3 inputs but 2 labels"):
        evaluate(model, torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="no data"):
        evaluate(model, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        fit(model, toy_problem(), epochs=0)


def test_augment_gives_every_epoch_a_fresh_copy_and_leaves_validation_alone():
    x, y = toy_problem(n=40)
    calls = []

    def shift(inputs):
        calls.append(inputs)
        return inputs + 0.01 * len(calls)

    torch.manual_seed(0)
    history = fit(nn.Linear(2, 2), (x, y), val=(x, y), epochs=3, augment=shift)
    assert len(calls) == 3 and all(c is x for c in calls) and history.epochs == 3


def test_identity_augment_trains_exactly_like_no_augment():
    x, y = toy_problem()

    def run(augment):
        torch.manual_seed(1)
        return fit(nn.Linear(2, 2), (x, y), val=(x, y), epochs=3, seed=4, augment=augment)

    assert run(lambda inputs: inputs) == run(None)


def test_run_epochs_records_training_then_validation_then_reports():
    calls = []
    history = run_epochs(
        lambda epoch: calls.append(("train", epoch)) or Evaluation(1.0 / epoch, 0.5),
        3,
        validate=lambda: calls.append(("validate",)) or Evaluation(2.0, 0.25),
        on_epoch=lambda epoch, h: calls.append(("report", epoch, h.epochs)),
    )
    assert calls[:3] == [("train", 1), ("validate",), ("report", 1, 1)] and len(calls) == 9
    assert history.train_loss == [1.0, 0.5, 1 / 3] and history.val_accuracy == [0.25] * 3
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        run_epochs(lambda epoch: Evaluation(0.0, 0.0), 0)


def test_the_training_loop_refuses_a_progress_display_made_for_other_epochs():
    with pytest.raises(ValueError, match="made for 20 epochs but training runs 3: give both the same number"):
        run_epochs(lambda epoch: Evaluation(1.0, 0.5), 3, on_epoch=TrainingProgress(epochs=20))


def test_evaluate_in_train_mode_uses_batch_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    x, y = toy_problem(n=40)
    in_eval, in_train = evaluate(model, x, y), evaluate(model, x, y, train_mode=True)
    assert model.training and in_eval != in_train
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).float().mean().item()
    assert in_train.accuracy == pytest.approx(expected)


def test_the_loop_over_batches_is_the_loop_over_tensors():
    x, y = toy_problem(n=50)

    def run(make_batches):
        torch.manual_seed(2)
        model = nn.Linear(2, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        return train_batches(model, make_batches(), optimizer), model.weight.detach().clone()

    by_index = run(lambda: tensor_batches(x, y, 20, shuffle=False))
    by_list = run(lambda: [(x[:20], y[:20]), (x[20:40], y[20:40]), (x[40:], y[40:])])
    assert by_index[0] == by_list[0] and torch.equal(by_index[1], by_list[1])
    assert evaluate_batches(nn.Linear(2, 2), [(x, y)], device="cpu").accuracy <= 1


def test_fit_shuffles_with_a_fresh_generator_each_epoch_when_asked():
    x, y = toy_problem(n=30)
    drawn = []

    def shuffle():
        drawn.append(1)
        return torch.Generator().manual_seed(len(drawn))

    def run(**kwargs):
        torch.manual_seed(1)
        return fit(nn.Linear(2, 2), (x, y), epochs=3, batch_size=10, **kwargs).train_loss

    assert run(shuffle=shuffle) != run(seed=0) and len(drawn) == 3


def test_a_run_is_named():
    model, history = nn.Linear(2, 2), History(train_loss=[1.0], train_accuracy=[0.5])
    run = Run(model, history, label="linear")
    assert run.model is model and run.history.epochs == 1 and run.label == "linear" and run.monitor is None
