"""Measuring how long a piece of training takes, on a CPU or a GPU."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar("T")


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
