"""Feedback for the exercises where a student writes the code: each lesson's `check_...` is a list of `Case`s.

A checker calls the student's function on a few inputs, compares each result with
the reference and, when one is wrong, says which case failed and why: a wrong
type, shape, dtype or device, or a result equal to a known typical mistake (a
forgotten scale factor, statistics taken from the test set), or else how far off
it is. The student's code runs with torch's random numbers seeded (the same
feedback every time) and a time limit per case, and whatever it changes of torch's
global state (grad mode, default dtype and device, thread count, random numbers)
is put back afterwards.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

NOT_WRITTEN = "Replace `raise NotImplementedError` with your code, run the cell again, then run this check."
TIME_LIMIT = 20.0
"""Seconds a case may run before the student's code is stopped."""


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
    A `run` that measures the student's result checks it first with `tensor_like`.
    """

    name: str
    run: Callable[[Callable[..., Any]], Any]
    expected: Any
    hint: str
    mistakes: Sequence[tuple[Any, str]] = field(default_factory=tuple)
    tolerance: float = 1e-5


class WrongResult(Exception):
    """The student's result cannot be measured; the message says why (raised by `tensor_like` inside a case)."""


class _OutOfTime(BaseException):  # not an Exception, so that an `except Exception` in the student's code lets it pass
    """The student's code ran past the time limit."""


def tensor_like(result: Any, like: torch.Tensor) -> torch.Tensor:
    """`result` if it is a tensor of `like`'s shape, dtype and device; else `WrongResult` saying how it differs."""
    problem = mismatch(result, like)
    if problem is not None:
        raise WrongResult(problem)
    return result


def check_cases(
    task: str, answer: Callable[..., Any], cases: Sequence[Case], *, time_limit: float = TIME_LIMIT
) -> Feedback:
    """Run every case on `answer`; the first that fails decides the feedback, else all passed."""
    if not callable(answer):
        raise TypeError(f"pass your function itself, e.g. check(my_function), not {type(answer).__name__}")
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=cuda):  # the notebook's random numbers go on as if the check had not run
        torch.default_generator.manual_seed(0)
        for case in cases:
            try:
                with _time_limit(time_limit), _settings_kept():
                    result = case.run(answer)
            except _OutOfTime:
                return Feedback(
                    False,
                    f"On {case.name} your code was still running after {time_limit:g} s, so it was stopped: "
                    f"look for a loop that never ends. {case.hint}",
                )
            except WrongResult as error:
                return Feedback(False, f"Not yet: on {case.name} {error}. {case.hint}")
            except Exception as error:  # any error in the student's code becomes feedback, not a traceback
                if isinstance(error, NotImplementedError) and _unwritten(error, answer):
                    return Feedback(False, f"Not written yet. {NOT_WRITTEN}")
                return Feedback(False, f"On {case.name} your code raised {type(error).__name__}: {error}. {case.hint}")
            problem = difference(result, case.expected, case.tolerance)
            if problem is None:
                continue
            for wrong, hint in case.mistakes:
                if difference(result, wrong, case.tolerance) is None:
                    return Feedback(False, f"Not yet: on {case.name} {problem}. {hint}")
            return Feedback(False, f"Not yet: on {case.name} {problem}. {case.hint}")
    return Feedback(True, f"Correct: {task} passes all {len(cases)} checks ({', '.join(c.name for c in cases)}).")


def _unwritten(error: NotImplementedError, answer: Callable[..., Any]) -> bool:
    """The stub's own bare `raise NotImplementedError`, not one raised inside a library that the code called."""
    innermost = error.__traceback__
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    return not error.args and innermost.tb_frame.f_code is getattr(answer, "__code__", None)


@contextlib.contextmanager
def _settings_kept() -> Iterator[None]:
    """Put back the global settings that code may change: grad mode, default dtype and device, thread count."""
    grad, dtype, device, threads = (
        torch.is_grad_enabled(),
        torch.get_default_dtype(),
        torch.get_default_device(),
        torch.get_num_threads(),
    )
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)
        if torch.get_default_device() != device:
            torch.set_default_device(device)  # not None: PyTorch 2.9's get_default_device fails after that


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Stop the code inside after `seconds` with `_OutOfTime`.

    A timer signal can only interrupt the main thread of a POSIX process, where a
    Jupyter kernel runs its cells; elsewhere (another thread, Windows) there is no limit.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signal: int, _frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def mismatch(result: Any, expected: torch.Tensor) -> str | None:
    """What keeps `result` from being compared with the tensor `expected`: its type, shape, dtype or device; or None."""
    if not isinstance(result, torch.Tensor):
        return f"the result is {describe(result)}, expected a tensor of shape {tuple(expected.shape)}"
    if result.shape != expected.shape:
        return f"the result has shape {tuple(result.shape)}, expected {tuple(expected.shape)}"
    if result.dtype != expected.dtype:
        return f"the result has dtype {result.dtype}, expected {expected.dtype} (leave out conversions such as .long())"
    if result.device != expected.device:
        return (
            f"the result is on the {result.device} device, expected {expected.device}: make new tensors where the "
            "input is, e.g. with torch.zeros_like(x) or device=x.device"
        )
    return None


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
        problem = mismatch(result, expected)
        if problem is not None:
            return problem
        gap = (result.detach().double() - expected.double()).abs().nan_to_num(nan=math.inf)
        gap = gap.masked_fill(result.detach().isnan() & expected.isnan(), 0.0)
        worst = gap.max().item() if gap.numel() else 0.0
        scale = 1.0 + expected.double().abs().nan_to_num(nan=0.0).max().item() if expected.numel() else 1.0
        return None if worst <= tolerance * scale else f"the result is off by up to {worst:.3g}"
    if isinstance(result, torch.Tensor) and result.numel() == 1 and not result.is_meta:
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
