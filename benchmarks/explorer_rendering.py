"""Render the frames of representative explorers the old way and the new way, side by side in one process.

    python benchmarks/explorer_rendering.py             # every frame of four explorers
    python benchmarks/explorer_rendering.py --frames 4 --repeats 1  # quicker

When a notebook is executed for the website, every frame of every explorer is
drawn and stored, so the cost of one frame is paid dozens of times per notebook.

- old: `figure.savefig(png)` at the explorer's dpi, decode the PNG to RGB,
  quantize to 256 colours (median cut), save with `optimize=True` (the explorer
  before this benchmark).
- new: `Explorer._render`: the figure drawn once on an Agg canvas
  (`figure_pixels`), the same quantization and PNG settings. `savefig` draws a
  constrained-layout figure twice (once to lay it out, once to paint it) and
  encodes a PNG that is decoded again; the new way skips both.

Each frame is drawn by the same plotting function for both ways, old and new
alternating, so both meet the same load, `--repeats` times; a frame's time is
its fastest repeat, which other work on the machine inflates least. The script
checks that the two ways give the very same PNG bytes and fails if they do not.
Times are CPU seconds of this process (`time.process_time`); wall seconds and
the load average before and after are printed too.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import statistics
import sys
import time

import torch
from PIL import Image

from helpers.core.data import mnist_tensors
from helpers.core.explorer import Explorer, explore
from helpers.core.figures import plot_image_grid
from helpers.lessons.activation_functions import plot_activation, plot_softmax
from helpers.lessons.vanishing_gradients import plot_depth_distribution


def render_old(explorer: Explorer, params: dict) -> bytes:
    """The explorer's frame as it was made before: savefig, decode, quantize, optimize."""
    figure = explorer.draw(**params)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=explorer.dpi, metadata={"Software": None})
    image = Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    compact = io.BytesIO()
    image.save(compact, format="png", optimize=True)
    return compact.getvalue()


def render_new(explorer: Explorer, params: dict) -> bytes:
    return explorer._render(params)


def representative_explorers() -> dict[str, Explorer]:
    """Four explorers of the course: bars, lines, histograms and a grid of images."""
    logits = torch.tensor([2.0, 1.0, 0.2, -1.0, 0.5])

    def draw_softmax(z_3: float, temperature: float):
        changed = logits.clone()
        changed[3] = z_3
        return plot_softmax(changed, temperature)

    digits, _ = mnist_tensors(train=True, limit=64, seed=0)

    def draw_digits(start: int):
        return plot_image_grid(digits[start : start + 8], columns=8, title=f"digits {start} to {start + 7}")

    return {
        "02 softmax (bars)": explore(draw_softmax, {"z_3": [-3.0, 0.0, 3.0], "temperature": [0.25, 1.0, 5.0]}),
        "02 activations (lines)": explore(
            plot_activation, {"name": ["sigmoid", "tanh", "relu", "elu"], "alpha": [0.1]}
        ),
        "03 depth (histograms)": explore(plot_depth_distribution, {"activation": ["tanh", "relu"], "depth": [1, 4, 8]}),
        "05-like digit grid (images)": explore(draw_digits, {"start": [0, 8, 16, 24]}),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=0, help="frames per explorer (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="renders of each frame each way; the fastest counts")
    args = parser.parse_args(argv)
    if args.frames < 0:
        parser.error(f"--frames must be 0 (all) or more, got {args.frames}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    explorers = representative_explorers()
    for explorer in explorers.values():  # warm the caches (fonts, tick formatters) before timing
        render_old(explorer, {c.name: c.values[c.default] for c in explorer.controls})
    totals = {"old": [0.0, 0.0, 0], "new": [0.0, 0.0, 0]}
    for name, explorer in explorers.items():
        combos = list(itertools.product(*(c.values for c in explorer.controls)))
        if args.frames:
            combos = combos[: args.frames]
        cpu = {"old": [], "new": []}
        wall = {"old": [], "new": []}
        sizes = []
        for values in combos:
            params = {c.name: v for c, v in zip(explorer.controls, values)}
            frames = {}
            best = {"old": (float("inf"), float("inf")), "new": (float("inf"), float("inf"))}
            for _ in range(args.repeats):
                for way, render in (("old", render_old), ("new", render_new)):
                    start_cpu, start_wall = time.process_time(), time.perf_counter()
                    frames[way] = render(explorer, params)
                    spent = (time.process_time() - start_cpu, time.perf_counter() - start_wall)
                    best[way] = min(best[way], spent)
            for way in ("old", "new"):
                cpu[way].append(best[way][0])
                wall[way].append(best[way][1])
            if frames["old"] != frames["new"]:
                sys.exit(f"{name} {params}: the new way's PNG differs from the old way's")
            sizes.append(len(frames["new"]))
        print(f"\n{name}: {len(combos)} frames, {statistics.mean(sizes) / 1000:.1f} kB a frame, same bytes both ways")
        for way in ("old", "new"):
            print(
                f"  {way}: {1000 * statistics.mean(cpu[way]):6.0f} ms CPU a frame "
                f"(median {1000 * statistics.median(cpu[way]):.0f}), {1000 * statistics.mean(wall[way]):6.0f} ms wall"
            )
            totals[way][0] += sum(cpu[way])
            totals[way][1] += sum(wall[way])
            totals[way][2] += len(combos)
        print(f"  new / old CPU: {sum(cpu['new']) / sum(cpu['old']):.2f}")
    old, new = totals["old"], totals["new"]
    print(
        f"\nall {old[2]} frames: old {1000 * old[0] / old[2]:.0f} ms CPU a frame, new {1000 * new[0] / new[2]:.0f} ms; "
        f"new takes {new[0] / old[0]:.2f} of the old CPU time ({new[1] / old[1]:.2f} of the wall time)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
