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
    tensor_batches,
    train_batches,
)


def toy_problem(n=200, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def test_tensor_batches_cover_every_sample_once_in_the_generators_order():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    batches = list(tensor_batches(x, y, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(labels) for _, labels in batches] == [4, 4, 2]
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat([labels for _, labels in batches]), order)
    assert all(torch.equal(inputs.squeeze(1), labels.float()) for inputs, labels in batches)
    assert torch.equal(torch.cat([labels for _, labels in tensor_batches(x, y, 3, shuffle=False)]), y)


def test_bad_batch_size_rejected():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        list(tensor_batches(torch.zeros(10, 1), torch.zeros(10), 0, shuffle=False))


def test_evaluate_matches_a_direct_computation():
    x, y = toy_problem()
    model = nn.Linear(2, 2)
    result = evaluate(model, x, y)
    with torch.no_grad():
        logits = model(x)
    assert isinstance(result, Evaluation)
    assert result.loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert result.accuracy == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert not model.training


def test_fit_takes_one_step_per_batch():
    x, y = toy_problem(n=50)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    fit(model, (x, y), epochs=2, optimizer=optimizer, batch_size=20)
    assert len(steps) == 2 * 3 and model.training


def test_fit_learns_and_records_history():
    x, y = toy_problem()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = []
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(
        model, (x, y), val=(x, y), epochs=30, optimizer=optimizer, batch_size=20, on_epoch=lambda e, h: seen.append(e)
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
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        fit(model, toy_problem(), epochs=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 2.5"):
        fit(model, toy_problem(), epochs=2.5)
    with pytest.raises(ValueError, match="val must be a pair"):
        fit(model, toy_problem(), epochs=1, val=toy_problem()[0])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        fit("model", toy_problem(), epochs=1)


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


def test_fit_trains_then_validates_then_reports_each_epoch():
    x, y = toy_problem(n=40)
    calls = []
    model = nn.Linear(2, 2)
    model.register_forward_pre_hook(lambda module, inputs: calls.append("train" if module.training else "validate"))
    fit(model, (x, y), val=(x, y), epochs=2, batch_size=40, on_epoch=lambda epoch, h: calls.append(("report", epoch)))
    assert calls == ["train", "validate", ("report", 1), "train", "validate", ("report", 2)]


def test_the_training_loop_refuses_a_progress_display_made_for_other_epochs():
    with pytest.raises(ValueError, match="made for 20 epochs but training runs 3: give both the same number"):
        fit(nn.Linear(2, 2), toy_problem(), epochs=3, on_epoch=TrainingProgress(epochs=20))


def test_training_stops_at_the_first_loss_that_is_not_a_number():
    x, y = toy_problem()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    steps = []
    optimizer = torch.optim.SGD(model.parameters(), lr=1e12)  # diverges within a few steps
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    with pytest.raises(
        FloatingPointError, match=r"the loss became (nan|inf) after \d+ samples: lower the learning rate"
    ):
        fit(model, (x, y), epochs=20, optimizer=optimizer, batch_size=20)
    assert 0 < len(steps) < 20 * 10, "it stops at once, not after the last epoch"
    bad = [(torch.full((4, 2), float("nan")), torch.zeros(4, dtype=torch.long))]
    with pytest.raises(FloatingPointError, match="after 0 samples"):
        train_batches(nn.Linear(2, 2), bad, torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1))


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


def test_a_run_is_named():
    model, history = nn.Linear(2, 2), History(train_loss=[1.0], train_accuracy=[0.5])
    run = Run(model, history, label="linear")
    assert run.model is model and run.history.epochs == 1 and run.label == "linear" and run.monitor is None


def test_history_records_an_epoch_with_or_without_validation():
    history = History()
    history.record(Evaluation(1.0, 0.5))
    history.record(Evaluation(0.5, 0.75), Evaluation(0.8, 0.6))
    assert history.epochs == 2 and history.train_loss == [1.0, 0.5] and history.val_accuracy == [0.6]
