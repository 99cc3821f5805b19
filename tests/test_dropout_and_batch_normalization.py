"""Tests for helpers.lessons.dropout_and_batch_normalization: the experiments, the figures and the exercise checks."""

import pytest
import torch
from notebook_code import solution_namespace
from torch import nn

from helpers.core.diagnostics import train_monitored
from helpers.core.training import History, evaluate, fit
from helpers.kernels.batch_norm import BatchNorm
from helpers.lessons.dropout_and_batch_normalization import (
    accuracy_in_batches,
    check_batch_norm,
    check_dropout,
    generalization_gaps,
    overfitting_run,
    plot_dropout_mask,
    plot_layer_statistics,
    plot_normalization_steps,
    plot_overfitting,
    running_statistics_report,
    train_deep_sigmoid,
)


def _history(train_accuracy, val_accuracy):
    return History(
        train_loss=[1.0] * len(train_accuracy),
        train_accuracy=train_accuracy,
        val_loss=[1.5] * len(val_accuracy),
        val_accuracy=val_accuracy,
    )


def _tiny_data(n, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=generator), torch.randint(0, 10, (n,), generator=generator)


def test_overfitting_run_repeats_and_measures_train_in_eval_mode(monkeypatch):
    train, test = _tiny_data(40, 0), _tiny_data(20, 1)
    first = overfitting_run(0.5, train, test, seed=2, epochs=3, hidden=16)
    again = overfitting_run(0.5, train, test, seed=2, epochs=3, hidden=16)
    assert first == again and first.epochs == len(first.val_accuracy) == 3
    # the last epoch's training numbers are those of the final model, every unit present
    trained = []

    def spy_fit(model, *args, **kwargs):
        trained.append(model)
        return fit(model, *args, **kwargs)

    monkeypatch.setattr("helpers.lessons.dropout_and_batch_normalization.fit", spy_fit)
    overfitting_run(0.5, train, test, seed=2, epochs=3, hidden=16)
    remeasured = evaluate(trained[0], *train)
    assert (first.train_loss[-1], first.train_accuracy[-1]) == (remeasured.loss, remeasured.accuracy)


def test_generalization_gaps_are_final_train_minus_test():
    runs = {
        0.0: [_history([0.5, 1.0], [0.4, 0.6]), _history([0.5, 0.9], [0.4, 0.7])],
        0.5: [_history([0.5, 0.8], [0.5, 0.7])],
    }
    gaps = generalization_gaps(runs)
    assert list(gaps) == ["p = 0", "p = 0.5"]
    assert gaps["p = 0"].tolist() == pytest.approx([0.4, 0.2]) and gaps["p = 0.5"].tolist() == pytest.approx([0.1])


def test_plots_are_labelled():
    figure = plot_dropout_mask(0.5, seed=0)
    assert any("of 128 dropped" in ax.get_title() for ax in figure.axes)
    assert "p = 0.5" in figure.get_suptitle()
    runs = {0.0: [_history([0.5, 1.0], [0.4, 0.6])] * 2, 0.5: [_history([0.5, 0.9], [0.5, 0.7])] * 2}
    figure = plot_overfitting(runs)
    accuracy, loss, gaps = figure.axes[:3]
    assert accuracy.get_xlabel() == "epoch" and len(accuracy.get_legend().get_texts()) == 4
    assert loss.get_yscale() == "log"
    styles = [(line.get_color(), line.get_linestyle()) for line in accuracy.get_lines()]
    assert styles == [("C0", "--"), ("C0", "-"), ("C1", "--"), ("C1", "-")]
    assert "gap" in gaps.get_title()


def test_normalization_steps_figure_reports_saturation():
    figure = plot_normalization_steps(1.0, 0.0)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[1].endswith(": 0% saturated") and not labels[0].endswith(": 0% saturated")
    assert labels[1].split(": ")[1] == labels[2].split(": ")[1]  # gamma = 1, beta = 0 changes nothing
    figure = plot_normalization_steps(4.0, 3.0)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[1].endswith(": 0% saturated") and not labels[2].endswith(": 0% saturated")


def test_train_deep_sigmoid_repeats_and_places_batch_norm_before_each_sigmoid():
    train, test = _tiny_data(60, 0), _tiny_data(30, 1)
    run = train_deep_sigmoid(True, train, test, seed=3, depth=3, width=8, epochs=2)
    kinds = [type(m) for m in run.model]
    assert kinds.count(nn.BatchNorm1d) == 3
    assert all(kinds[i + 1] is nn.Sigmoid for i, kind in enumerate(kinds) if kind is nn.BatchNorm1d)
    assert run.label == "with batch normalization" and len(run.monitor.steps) == 2
    again = train_deep_sigmoid(True, train, test, seed=3, depth=3, width=8, epochs=2)
    assert again.history == run.history
    plain = train_deep_sigmoid(False, train, test, seed=3, depth=3, width=8, epochs=1)
    assert nn.BatchNorm1d not in [type(m) for m in plain.model]


def test_layer_statistics_one_line_per_hidden_layer():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(4, 5), BatchNorm(5), nn.Sigmoid(), nn.Linear(5, 5), nn.Sigmoid(), nn.Linear(5, 2)
    )
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
    with pytest.raises(ValueError, match="3 labels: they must pair up one to one"):
        accuracy_in_batches(model, images, labels[:3], batch_size=8, train_mode=False)


def test_running_statistics_report_compares_each_layer_with_its_real_inputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sigmoid(), nn.Linear(4, 4), nn.BatchNorm1d(4))
    images = torch.randn(50, 3) * 2 + 1
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = running_statistics_report(model, images).splitlines()
    assert report[0].split() == ["layer", "running", "mean", "real", "mean", "running", "var", "real", "var"]
    assert [line.split()[0] for line in report[1:]] == ["1", "2"]
    first = report[1].split()
    assert float(first[1]) == 0 and float(first[3]) == 1  # fresh layers: running mean 0 and variance 1
    assert float(first[2]) == pytest.approx(model[0](images).mean().item(), abs=1e-3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()) and not model.training


# The implement-it exercises: the notebook's own reference solution passes, typical mistakes earn their hint.
STEM = "06-dropout-and-batch-normalization"


def _dropout_variant(keep, scale, *, at_inference=False):
    def answer(x, p, training=True):
        if not training and not at_inference:
            return x
        mask = (torch.rand_like(x) >= p) if keep else (torch.rand_like(x) < p)
        return x * mask * scale(p)

    return answer


def test_the_reference_dropout_solution_passes():
    solution = solution_namespace(STEM, "my_dropout")["my_dropout"]
    feedback = check_dropout(solution)
    assert feedback.passed, feedback.message
    assert feedback.message.startswith("Correct: your inverted dropout passes all 6 checks")


@pytest.mark.parametrize(
    "answer, hint",
    [
        (_dropout_variant(False, lambda p: 1 / (1 - p)), "You dropped with probability 1 - p"),
        (_dropout_variant(True, lambda p: 1), "You forgot the scale: divide the entries that survive by 1 - p"),
        (_dropout_variant(True, lambda p: 1 - p), "You multiplied the survivors by 1 - p"),
        (_dropout_variant(True, lambda p: 1 / (1 - p), at_inference=True), "with `training=False` return x unchanged"),
        (lambda x, p, training=True: x, "Nothing was dropped"),
    ],
)
def test_typical_dropout_mistakes_fail_with_their_hint(answer, hint):
    feedback = check_dropout(answer)
    assert not feedback.passed and hint in feedback.message


def _masked_dropout(mask):
    def answer(x, p, training=True):
        return x * mask(x, p) / (1 - p) if training else x

    return answer


@pytest.mark.parametrize(
    "answer, hint",
    [
        (_masked_dropout(lambda x, p: torch.rand(x.shape[-1]) >= p), "The whole batch shares one mask"),
        (
            _masked_dropout(lambda x, p: torch.rand(len(x), 1) >= p if x.dim() == 2 else torch.rand_like(x) >= p),
            "Each sample keeps or drops all its units together",
        ),
        (
            _masked_dropout(lambda x, p: ((torch.arange(x.numel()) % 10) >= 3).reshape(x.shape)),
            "Every call drops the same entries: the mask must be random",
        ),
        (_masked_dropout(lambda x, p: (torch.arange(x.shape[-1]) % 10) >= 3), "Every call drops the same entries"),
    ],
)
def test_a_mask_shared_by_the_batch_or_fixed_in_advance_fails_with_its_hint(answer, hint):
    feedback = check_dropout(answer)
    assert not feedback.passed and hint in feedback.message, feedback.message


def test_a_forgotten_return_or_a_result_on_another_device_is_feedback_not_the_checker_s_error():
    def no_return(x, p, training=True):
        x * (torch.rand_like(x) >= p) / (1 - p)

    forgotten = check_dropout(no_return)
    assert forgotten.message.startswith("Not yet: on the fraction of a million ones set to zero at p = 0.3")
    assert "the result is None (did you forget `return`?), expected a tensor of shape (1000000,)" in forgotten.message
    elsewhere = check_dropout(lambda x, p, training=True: torch.zeros_like(x, device="meta"))
    assert "the result is on the meta device, expected cpu" in elsewhere.message


def test_the_dropout_check_leaves_the_random_state_alone_and_repeats():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    first = check_dropout(_dropout_variant(True, lambda p: 1))
    assert torch.equal(torch.rand(3), expected)
    assert check_dropout(_dropout_variant(True, lambda p: 1)).message == first.message


def _batch_norm_variant(*, dim=0, unbiased=False, eps_inside=True, scale_shift=True):
    def answer(x, gamma, beta, eps=1e-5):
        mean, var = x.mean(dim=dim, keepdim=True), x.var(dim=dim, unbiased=unbiased, keepdim=True)
        x_hat = (x - mean) / torch.sqrt(var + (eps if eps_inside else 0))
        return gamma * x_hat + beta if scale_shift else x_hat

    return answer


def test_the_reference_batch_norm_solution_passes_and_matches_the_layer():
    solution = solution_namespace(STEM, "my_batch_norm")["my_batch_norm"]
    feedback = check_batch_norm(solution)
    assert feedback.passed, feedback.message
    x, gamma, beta = torch.randn(16, 5), torch.rand(5) + 0.5, torch.randn(5)
    layer = BatchNorm(5)
    with torch.no_grad():
        layer.weight.copy_(gamma), layer.bias.copy_(beta)
    assert torch.allclose(solution(x, gamma, beta), layer(x), atol=1e-6)


@pytest.mark.parametrize(
    "answer, hint",
    [
        (_batch_norm_variant(dim=1), "You normalized each sample over its features"),
        (_batch_norm_variant(unbiased=True), "You used the unbiased variance"),
        (_batch_norm_variant(eps_inside=False), "You left out eps"),
        (_batch_norm_variant(scale_shift=False), "You forgot the learnable scale and shift"),
        (lambda x, gamma, beta, eps=1e-5: gamma * (x - x.mean(1)) + beta, "take the mean and the variance along dim=0"),
    ],
)
def test_typical_batch_norm_mistakes_fail_with_their_hint(answer, hint):
    feedback = check_batch_norm(answer)
    assert not feedback.passed and hint in feedback.message
