"""Tests for helpers.core.progress: epoch lines, history plots and the progress reporter."""

import time

import IPython.display
import pytest
from matplotlib.figure import Figure

from helpers.core.explorer import HEADLESS_ENV_VAR
from helpers.core.progress import LIVE_CURVES_SHARE, TrainingProgress, describe_epoch, plot_history
from helpers.core.training import History


def history(epochs=3, validation=True):
    made = History(
        train_loss=[1.0 / (i + 1) for i in range(epochs)], train_accuracy=[0.5 + 0.1 * i for i in range(epochs)]
    )
    if validation:
        made.val_loss = [1.5 / (i + 1) for i in range(epochs)]
        made.val_accuracy = [0.4 + 0.1 * i for i in range(epochs)]
    return made


def test_describe_epoch_reports_training_and_validation():
    line = describe_epoch(2, 10, history(), seconds=1.25)
    assert line == "epoch  2/10  train loss 0.5000 accuracy 0.6000  | val loss 0.7500 accuracy 0.5000  (1.2 s)"
    assert "val" not in describe_epoch(1, 3, history(validation=False), seconds=0.5)


def test_describe_epoch_rejects_an_epoch_not_in_the_history():
    with pytest.raises(ValueError, match="epoch 4 is not in the history, which holds epochs 1 to 3"):
        describe_epoch(4, 5, history(), seconds=1.0)


def test_plot_history_draws_each_series_on_both_panels():
    reference = History(train_loss=[0.9] * 5, train_accuracy=[0.6] * 5)
    figure = plot_history(history(), reference=reference, epochs=8)
    assert isinstance(figure, Figure)
    loss_axes, accuracy_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["train", "validation", "lecture (published)"]
    assert list(accuracy_axes.lines[1].get_ydata()) == history().val_accuracy
    assert loss_axes.get_xlim() == (0.5, 8.5)
    assert loss_axes.get_xlabel() == "epoch" and accuracy_axes.get_ylabel() == "accuracy"


def test_plot_history_rejects_an_empty_history():
    with pytest.raises(ValueError, match="no epochs yet"):
        plot_history(History())


def test_headless_progress_prints_one_line_per_epoch(monkeypatch, capsys):
    monkeypatch.setenv(HEADLESS_ENV_VAR, "1")
    progress = TrainingProgress(epochs=3)
    run = history()
    for epoch in (1, 2, 3):
        progress(epoch, run)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


def test_live_progress_shows_bars_and_curves_then_clears_the_live_figure(monkeypatch, capsys):
    monkeypatch.setenv(HEADLESS_ENV_VAR, "0")
    shown = []

    class Handle:
        def update(self, item):
            shown.append(item)

    def display(item, display_id=False):
        shown.append(item)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    progress = TrainingProgress(epochs=3)
    run = history(epochs=3)
    for epoch in (1, 2, 3):
        progress(epoch, run)
    names = [type(item).__name__ for item in shown]  # the first epoch draws the curves, the last clears them
    assert names[0] == "Figure" and names[-1] == "HTML" and set(names[1:-1]) <= {"Figure"}
    assert capsys.readouterr().out == ""


def curves_drawn(monkeypatch, epochs: int, seconds_per_epoch: float, seconds_per_drawing: float = 1.0):
    """Train `epochs` epochs live on a fake clock: (how many times the curves were drawn, total seconds)."""
    monkeypatch.setenv(HEADLESS_ENV_VAR, "0")
    clock, drawn = [0.0], []
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])

    def show(item):
        drawn.append(type(item).__name__)
        if isinstance(item, Figure):
            clock[0] += seconds_per_drawing

    class Handle:
        def update(self, item):
            show(item)

    def display(item, display_id=False):
        show(item)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    progress, run = TrainingProgress(epochs=epochs), history(epochs=epochs)
    for epoch in range(1, epochs + 1):
        clock[0] += seconds_per_epoch
        progress(epoch, run)
    assert drawn[-1] == "HTML", "the live figure must be cleared after the last epoch"
    return drawn.count("Figure"), clock[0]


def test_live_curves_on_fast_epochs_take_about_their_share_of_the_time(monkeypatch):
    drawings, seconds = curves_drawn(monkeypatch, epochs=40, seconds_per_epoch=0.5)
    assert 2 <= drawings < 40 / 4
    assert drawings * 1.0 / seconds <= LIVE_CURVES_SHARE + 0.05


def test_live_curves_on_slow_epochs_are_redrawn_every_epoch_but_the_last(monkeypatch):
    assert curves_drawn(monkeypatch, epochs=5, seconds_per_epoch=10.0)[0] == 4


def test_progress_rejects_no_epochs():
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        TrainingProgress(epochs=0)
