"""Tests for benchmarks/explorer_rendering.py: its old way is the explorer's former rendering, byte for byte."""

import importlib.util

import pytest
from matplotlib.figure import Figure

from helpers.core.explorer import explore
from helpers.core.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "explorer_rendering.py"
spec = importlib.util.spec_from_file_location("explorer_rendering", SCRIPT)
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def draw(title: str) -> Figure:
    figure = Figure(figsize=(3, 2), layout="constrained")
    axis = figure.subplots()
    axis.plot([0, 1, 2], [3, 1, 2], label="line")
    axis.set(title=title, xlabel="x")
    axis.legend()
    return figure


def test_old_and_new_rendering_give_the_same_png():
    explorer = explore(draw, {"title": ["a title"]})
    assert benchmark.render_old(explorer, {"title": "a title"}) == benchmark.render_new(explorer, {"title": "a title"})


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--frames", "-1"], "--frames must be 0 (all) or more, got -1"),
        (["--repeats", "0"], "--repeats must be at least 1"),
    ],
)
def test_bad_counts_are_clear_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(argv)
    assert message in capsys.readouterr().err
