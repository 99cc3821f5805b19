"""Tests for helpers.core.timing: timings, the speed table and its bar chart."""

import time

import pytest

from helpers.core.timing import Timing, plot_speed, speed_report, timed

SLOW = Timing("slow", epochs=2, samples=1000, seconds=8.0, test_accuracy=0.97)
FAST = Timing("fast", epochs=4, samples=1000, seconds=4.0, test_accuracy=0.96)


def test_timing_rates():
    assert SLOW.seconds_per_epoch == 4.0
    assert SLOW.samples_per_second == 250.0
    assert FAST.samples_per_second == 1000.0


@pytest.mark.parametrize("field", ["epochs", "samples", "seconds"])
def test_timing_rejects_impossible_values(field):
    values = {"epochs": 1, "samples": 1, "seconds": 1.0, field: 0}
    with pytest.raises(ValueError, match="epochs and samples must be at least 1 and seconds positive"):
        Timing("bad", test_accuracy=0.5, **values)


def test_timed_returns_the_result_and_the_time_taken():
    result, seconds = timed(lambda: time.sleep(0.05) or "done")
    assert result == "done"
    assert 0.05 <= seconds < 5


def test_speed_report_compares_with_the_first_timing():
    rows = speed_report([SLOW, FAST]).splitlines()
    assert len(rows) == 4
    assert rows[2] == "| slow | 2 | 4.00 | 250 | 1.0x | 0.9700 |"
    assert rows[3] == "| fast | 4 | 1.00 | 1,000 | 4.0x | 0.9600 |"
    with pytest.raises(ValueError, match="no timings to report"):
        speed_report([])


def test_plot_speed_labels_each_bar_with_its_speed_up():
    axes = plot_speed([SLOW, FAST]).axes[0]
    assert [patch.get_width() for patch in axes.patches] == [4.0, 1.0]
    assert [text.get_text() for text in axes.texts] == ["4.00 s (1.0x)", "1.00 s (4.0x)"]
    ticks = {tick: label.get_text() for tick, label in zip(axes.get_yticks(), axes.get_yticklabels())}
    slow_bar, fast_bar = axes.patches
    assert slow_bar.get_y() > fast_bar.get_y()  # the baseline is drawn on top
    assert ticks[slow_bar.get_y() + slow_bar.get_height() / 2] == "slow"
    with pytest.raises(ValueError, match="no timings to plot"):
        plot_speed([])
