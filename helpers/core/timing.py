"""Measuring how fast a training recipe runs, and comparing recipes side by side."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from matplotlib.figure import Figure

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """How long `epochs` passes over `samples` training samples took, and the test accuracy reached."""

    name: str
    epochs: int
    samples: int
    seconds: float
    test_accuracy: float

    def __post_init__(self):
        if self.epochs < 1 or self.samples < 1 or self.seconds <= 0:
            raise ValueError(
                f"{self.name}: epochs and samples must be at least 1 and seconds positive, "
                f"got epochs={self.epochs}, samples={self.samples}, seconds={self.seconds}"
            )

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / self.epochs

    @property
    def samples_per_second(self) -> float:
        return self.samples * self.epochs / self.seconds


def timed(run: Callable[[], T], device: torch.device | str = "cpu") -> tuple[T, float]:
    """`run()`'s result and the wall-clock seconds it took, waiting for queued GPU work to finish."""
    device = torch.device(device)
    synchronize = {"cuda": torch.cuda.synchronize, "mps": getattr(torch.mps, "synchronize", None)}.get(device.type)
    if synchronize:
        synchronize()
    start = time.perf_counter()
    result = run()
    if synchronize:
        synchronize()
    return result, time.perf_counter() - start


def speed_report(timings: Sequence[Timing]) -> str:
    """A Markdown table of the timings, with each one's speed-up over the first (the baseline)."""
    if not timings:
        raise ValueError("no timings to report: measure at least one recipe")
    baseline = timings[0]
    rows = [
        "| recipe | epochs | s / epoch | samples / s | speed-up | test accuracy |",
        "|:---|---:|---:|---:|---:|---:|",
    ]
    for timing in timings:
        rows.append(
            f"| {timing.name} | {timing.epochs} | {timing.seconds_per_epoch:.2f} | {timing.samples_per_second:,.0f} "
            f"| {baseline.seconds_per_epoch / timing.seconds_per_epoch:.1f}x | {timing.test_accuracy:.4f} |"
        )
    return "\n".join(rows)


def plot_speed(timings: Sequence[Timing], *, title: str = "Seconds per training epoch") -> Figure:
    """Horizontal bars of seconds per epoch, each labelled with its speed-up over the first."""
    if not timings:
        raise ValueError("no timings to plot: measure at least one recipe")
    figure = Figure(figsize=(7, 0.7 * len(timings) + 1.2), layout="constrained")
    axes = figure.subplots()
    seconds = [timing.seconds_per_epoch for timing in timings]
    positions = range(len(timings))[::-1]
    bars = axes.barh(list(positions), seconds, color=[f"C{i}" for i in range(len(timings))])
    axes.bar_label(bars, labels=[f"{s:.2f} s ({seconds[0] / s:.1f}x)" for s in seconds], padding=3)
    axes.set(
        yticks=list(positions),
        yticklabels=[timing.name for timing in timings],
        xlabel="seconds per epoch (lower is faster)",
        title=title,
        xlim=(0, 1.3 * max(seconds)),
    )
    return figure
