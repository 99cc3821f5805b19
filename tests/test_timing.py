"""Tests for helpers.core.timing: wall-clock time of a piece of work, queued GPU work included."""

import time

import torch

from helpers.core.timing import timed


def test_timed_returns_the_result_and_the_time_taken():
    result, seconds = timed(lambda: time.sleep(0.05) or "done")
    assert result == "done"
    assert 0.05 <= seconds < 5


def test_timed_waits_for_the_gpu_before_and_after(monkeypatch):
    waits = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: waits.append(len(waits)))
    assert timed(lambda: waits.append("run") or 3, "cuda")[0] == 3
    assert waits == [0, "run", 2]
    timed(lambda: None, "cpu")
    assert len(waits) == 3  # nothing to wait for on the CPU
