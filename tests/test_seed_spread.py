"""Runs over several seeds: stacking a metric, the curves and dots drawn, the summary table."""

import statistics

import pytest
import torch

from helpers.core.seed_spread import plot_curves, plot_final_accuracies, stack_metric, summarize_accuracies
from helpers.core.training import History


def run(values: list[float]) -> History:
    return History(train_loss=values, train_accuracy=values, val_loss=values, val_accuracy=values)


def test_stack_metric_gives_one_row_per_run():
    stacked = stack_metric([run([0.1, 0.2]), run([0.3, 0.4]), run([0.5, 0.6])], "val_loss")
    assert torch.equal(stacked, torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]))


def test_stack_metric_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        stack_metric([run([0.1])], "accuracy")
    with pytest.raises(ValueError, match="at least one run"):
        stack_metric([], "val_loss")
    with pytest.raises(ValueError, match="different numbers of epochs: \\[1, 2\\]"):
        stack_metric([run([0.1]), run([0.1, 0.2])], "train_loss")
    with pytest.raises(ValueError, match="train with a validation set"):
        stack_metric([History(train_loss=[1.0], train_accuracy=[0.5])], "val_accuracy")


def test_plot_curves_draws_the_mean_and_a_band_from_lowest_to_highest_run():
    curves = {
        "a": torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 8.0]]),
        "b": torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]),
    }
    figure = plot_curves(curves, ylabel="loss", title="T")
    axes = figure.axes[0]
    assert [line.get_label() for line in axes.lines] == ["a", "b"]
    assert axes.lines[0].get_ydata().tolist() == [2.0, 3.0, 5.5]
    assert axes.lines[0].get_xdata().tolist() == [1, 2, 3]
    band = axes.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 1.0 and band.max() == 8.0
    assert (axes.get_xlabel(), axes.get_ylabel(), axes.get_title()) == ("epoch", "loss", "T")


def test_plot_final_accuracies_puts_a_dot_per_seed_in_percent():
    figure = plot_final_accuracies({"x": torch.tensor([0.5, 0.7]), "y": torch.tensor([0.9, 0.9])})
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["x", "y"]
    assert axes.lines[0].get_xdata().tolist() == pytest.approx([50.0, 70.0])
    assert axes.lines[1].get_xdata().tolist() == pytest.approx([60.0, 60.0])  # the mean bar


def test_summary_reports_mean_standard_deviation_and_range_in_percent():
    values = [0.91, 0.905, 0.92]
    text = summarize_accuracies({"z-score": torch.tensor(values), "raw": torch.tensor([0.1, 0.1])})
    first, second = text.splitlines()
    percent = [100 * v for v in values]
    expected = f"{statistics.mean(percent):5.1f}% ± {statistics.stdev(percent):.1f}"
    assert first.startswith("z-score") and expected in first and "(3 seeds, 90.5% to 92.0%)" in first
    assert second.startswith("raw     ") and "± 0.0" in second


def test_summary_and_plots_reject_bad_input():
    with pytest.raises(ValueError, match="a spread needs at least two seeds"):
        summarize_accuracies({"one": torch.tensor([0.5])})
    with pytest.raises(ValueError, match="pass accuracies as fractions"):
        summarize_accuracies({"percent": torch.tensor([91.0, 92.0])})
    with pytest.raises(ValueError, match="at least one named set of runs"):
        plot_curves({}, ylabel="loss")
    with pytest.raises(ValueError, match=r"'a' must be a non-empty 2-D tensor"):
        plot_curves({"a": torch.tensor([1.0, 2.0])}, ylabel="loss")
