"""Tests for benchmarks/log_axis_drawing.py, and for the log axes of notebook 03 that it measures."""

import importlib.util
import re

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from helpers.core.paths import REPO_ROOT
from helpers.lessons.vanishing_gradients import plot_depth_distribution

SCRIPT = REPO_ROOT / "benchmarks" / "log_axis_drawing.py"
spec = importlib.util.spec_from_file_location("log_axis_drawing", SCRIPT)
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def y_ticks(figure):
    """(major tick labels, number of minor ticks) of the figure's only axes, as drawn (ticks just outside the
    limits included, as matplotlib keeps them)."""
    FigureCanvasAgg(figure).draw()
    axis = figure.axes[0].yaxis
    return [label.get_text() for label in axis.get_ticklabels()], len(axis.get_minorticklocs())


def test_the_lessons_log_axis_has_major_ticks_only_labelled_as_powers_of_ten_in_plain_text():
    labels, minor = y_ticks(plot_depth_distribution("sigmoid", 3))
    assert {"1e-3", "1e-2", "1e-1", "1e0", "1e1", "1e2", "1e3"} <= set(labels) and minor == 0
    assert all(re.fullmatch(r"1e-?\d+", label) for label in labels), labels


def test_the_benchmarks_default_way_gives_the_axis_matplotlibs_ticks_and_limits_back():
    labels, minor = y_ticks(benchmark.with_default_log_axes(plot_depth_distribution("sigmoid", 3)))
    assert "$\\mathdefault{10^{-3}}$" in labels and minor > 0
    assert benchmark.with_default_log_axes(plot_depth_distribution("sigmoid", 3)).axes[0].get_ylim() == (1e-3, 1e3)


def test_repeats_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--repeats", "0"])
    assert "--repeats must be at least 1, got 0" in capsys.readouterr().err
