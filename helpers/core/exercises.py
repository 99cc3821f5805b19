"""Feedback for the exercises where a student writes the code: each lesson's `check_...` is a list of `Case`s.

A checker calls the student's function on a few inputs, compares each result with
the reference and, when one is wrong, says which case failed and why: a wrong
shape, or a result equal to a known typical mistake (a forgotten scale factor,
statistics taken from the test set), or else how far off it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

NOT_WRITTEN = "Replace `raise NotImplementedError` with your code, run the cell again, then run this check."


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check: `passed`, and one or two sentences for the student (its repr, so a cell shows it)."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Case:
    """One trial of the student's code.

    `run(answer)` calls the student's function and returns what is compared with
    `expected` (a tensor, a number, or a tuple of them). `mistakes` pairs a typical
    wrong result with the hint it earns; `hint` is said for any other wrong result.
    """

    name: str
    run: Callable[[Callable[..., Any]], Any]
    expected: Any
    hint: str
    mistakes: Sequence[tuple[Any, str]] = field(default_factory=tuple)
    tolerance: float = 1e-5


def check_cases(task: str, answer: Callable[..., Any], cases: Sequence[Case]) -> Feedback:
    """Run every case on `answer`; the first that fails decides the feedback, else all passed."""
    if not callable(answer):
        raise TypeError(f"pass your function itself, e.g. check(my_function), not {type(answer).__name__}")
    for case in cases:
        try:
            result = case.run(answer)
        except NotImplementedError:
            return Feedback(False, f"Not written yet. {NOT_WRITTEN}")
        except Exception as error:  # any error in the student's code becomes feedback, not a traceback
            return Feedback(False, f"On {case.name} your code raised {type(error).__name__}: {error}. {case.hint}")
        problem = difference(result, case.expected, case.tolerance)
        if problem is None:
            continue
        for wrong, hint in case.mistakes:
            if difference(result, wrong, case.tolerance) is None:
                return Feedback(False, f"Not yet: on {case.name} {problem}. {hint}")
        return Feedback(False, f"Not yet: on {case.name} {problem}. {case.hint}")
    return Feedback(True, f"Correct: {task} passes all {len(cases)} checks ({', '.join(c.name for c in cases)}).")


def difference(result: Any, expected: Any, tolerance: float) -> str | None:
    """None when `result` matches `expected`; else what differs, in words (type, shape or size of the gap)."""
    if isinstance(expected, tuple):
        if not isinstance(result, (tuple, list)) or len(result) != len(expected):
            return f"the result is {describe(result)}, expected a tuple of {len(expected)}"
        for i, (part, want) in enumerate(zip(result, expected, strict=True)):
            problem = difference(part, want, tolerance)
            if problem is not None:
                return f"item {i} of the result is wrong: {problem}"
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(result, torch.Tensor):
            return f"the result is {describe(result)}, expected a tensor of shape {tuple(expected.shape)}"
        if result.shape != expected.shape:
            return f"the result has shape {tuple(result.shape)}, expected {tuple(expected.shape)}"
        gap = (result.detach().double() - expected.double()).abs().nan_to_num(nan=math.inf)
        gap = gap.masked_fill(result.detach().isnan() & expected.isnan(), 0.0)
        worst = gap.max().item() if gap.numel() else 0.0
        scale = 1.0 + expected.double().abs().nan_to_num(nan=0.0).max().item() if expected.numel() else 1.0
        return None if worst <= tolerance * scale else f"the result is off by up to {worst:.3g}"
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        result = result.item()
    if not isinstance(result, (int, float)) or isinstance(result, bool):
        return f"the result is {describe(result)}, expected the number {expected:g}"
    close = math.isclose(result, expected, rel_tol=tolerance, abs_tol=tolerance)
    return None if close else f"the result is {result:.4g}, expected {expected:.4g}"


def describe(value: Any) -> str:
    """A few words for what a value is: `a tensor of shape (3,)`, `None`, `a list`."""
    if value is None:
        return "None (did you forget `return`?)"
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
