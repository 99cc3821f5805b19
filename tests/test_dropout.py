"""From-scratch inverted dropout checked against `nn.Dropout` and autograd."""

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from helpers.dropout import (
    Dropout,
    check_drop_probability,
    dropout,
    dropout_mask,
    dropout_mlp,
    generalization_gaps,
    overfitting_run,
    plot_dropout_mask,
    plot_overfitting,
)
from helpers.training import History, evaluate, fit


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


def test_dropout_mlp_shape_and_layers():
    model = dropout_mlp(0.25, hidden=32, layers=3)
    assert [m.p for m in model if isinstance(m, Dropout)] == [0.25] * 3
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        dropout_mlp(0.5, layers=0)


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

    monkeypatch.setattr("helpers.dropout.fit", spy_fit)
    overfitting_run(0.5, train, test, seed=2, epochs=3, hidden=16)
    assert (first.train_loss[-1], first.train_accuracy[-1]) == evaluate(trained[0], *train)


def _history(train_accuracy, val_accuracy):
    return History(train_loss=[1.0] * len(train_accuracy), train_accuracy=train_accuracy,
                   val_loss=[1.5] * len(val_accuracy), val_accuracy=val_accuracy)


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
    plt.close(figure)
    runs = {0.0: [_history([0.5, 1.0], [0.4, 0.6])] * 2, 0.5: [_history([0.5, 0.9], [0.5, 0.7])] * 2}
    figure = plot_overfitting(runs)
    accuracy, loss, gaps = figure.axes[:3]
    assert accuracy.get_xlabel() == "epoch" and len(accuracy.get_legend().get_texts()) == 4
    assert loss.get_yscale() == "log"
    styles = [(line.get_color(), line.get_linestyle()) for line in accuracy.get_lines()]
    assert styles == [("C0", "--"), ("C0", "-"), ("C1", "--"), ("C1", "-")]
    assert "gap" in gaps.get_title()
    plt.close(figure)


@pytest.mark.parametrize("hidden, layers", [(0, 2), (2.5, 2), (16, 0), (16, 1.0)])
def test_dropout_mlp_needs_positive_whole_numbers(hidden, layers):
    with pytest.raises(ValueError, match="layers and hidden must be positive integers"):
        dropout_mlp(0.5, hidden=hidden, layers=layers)
