"""Draw the frames of notebook 03's two explorers with matplotlib's default log axes and with 03's, side by side.

    python benchmarks/log_axis_drawing.py               # every frame of both explorers
    python benchmarks/log_axis_drawing.py --repeats 1   # quicker

03 draws its log-scale y axes with `_log_y`: major ticks only, labelled `1e-6` in
plain text. A log axis as matplotlib makes it has minor ticks at every 2, 3, ...
9 times a power of ten and typesets each label as a power of ten (mathtext).

- default: the lesson's plotting function, then every log-scale y axis set to
  log scale again, which gives it matplotlib's own ticks and labels back.
- lesson: the lesson's plotting function as it is.

Each frame is drawn on an Agg canvas at the explorer's dpi (`figure_pixels`),
the two ways alternating, `--repeats` times; a frame's time is its fastest
repeat, in CPU seconds of this process. The depth explorer's histograms were
also changed from `hist` to `stairs`; that part is not measured here.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

from matplotlib.figure import Figure

from helpers.core.data import mnist_tensors
from helpers.core.explorer import figure_pixels
from helpers.lessons.vanishing_gradients import plot_deep_mlp_at_init, plot_depth_distribution

DPI = 80  # the explorers' default


def with_default_log_axes(figure: Figure) -> Figure:
    """`figure` with matplotlib's default ticks and labels on every log-scale y axis."""
    for axis in figure.axes:
        if axis.get_yscale() == "log":
            limits = axis.get_ylim()
            axis.set_yscale("log")  # setting the scale installs its default locators and formatters
            axis.set_ylim(limits)
    return figure


def explorers_of_03() -> dict[str, tuple]:
    """Name -> (plotting function, every combination of its controls), as notebook 03 explores them."""
    images, labels = mnist_tensors(train=True, limit=500, seed=0)

    def draw_network(activation, init):
        return plot_deep_mlp_at_init((images, labels), depth=20, activation=activation, init=init)

    return {
        "depth explorer (1 log axis)": (
            plot_depth_distribution,
            [dict(activation=a, depth=d) for a, d in itertools.product(["sigmoid", "tanh", "relu"], [1, 3, 10])],
        ),
        "init explorer (3 log axes)": (
            draw_network,
            [
                dict(activation=a, init=i)
                for a, i in itertools.product(["sigmoid", "tanh", "relu"], ["default", "kaiming"])
            ],
        ),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="draws of each frame each way; the fastest counts")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    ways = {
        "default": lambda draw, params: with_default_log_axes(draw(**params)),
        "lesson": lambda draw, params: draw(**params),
    }
    for name, (draw, combos) in explorers_of_03().items():
        for way in ways.values():  # warm the caches (fonts, mathtext) before timing
            figure_pixels(way(draw, combos[0]), DPI)
        totals = dict.fromkeys(ways, 0.0)
        for params in combos:
            best = dict.fromkeys(ways, float("inf"))
            for _ in range(args.repeats):
                for way, make in ways.items():
                    start = time.process_time()
                    figure_pixels(make(draw, params), DPI)
                    best[way] = min(best[way], time.process_time() - start)
            for way in ways:
                totals[way] += best[way]
        print(f"\n{name}: {len(combos)} frames, plotting and drawing")
        for way in ways:
            print(f"  {way:8} log axes: {totals[way]:.2f} s CPU, {1000 * totals[way] / len(combos):.0f} ms a frame")
        print(f"  the lesson's axes take {totals['lesson'] / totals['default']:.2f} of the default's CPU time")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
