"""The argument checks that several helpers share, each with one message that says how to fix the input."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sized
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def check_positive_int(name: str, value: object, meaning: str = "") -> int:
    """Return `value` if it is a positive integer (not a bool); else raise `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer{meaning}, got {value!r}")
    return value


def check_pairs(inputs: Sized, labels: Sized) -> None:
    """Raise `ValueError` unless `inputs` and `labels` pair up one to one and are not empty."""
    if len(inputs) != len(labels):
        raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels: they must pair up one to one")
    if len(inputs) == 0:
        raise ValueError("no data: the inputs are empty")


def checked(*checks: Callable[..., None]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a bare kernel with the checks that guard it: `@checked(check_a, check_b)`.

    The kernel's own body stays the idea, a few lines of maths; the returned
    function first calls every check with the call's arguments by name (defaults
    filled in; a check takes what it needs and `**_`), then the kernel. The
    unguarded kernel stays reachable as `.bare`.
    """

    def decorate(kernel: Callable[P, T]) -> Callable[P, T]:
        signature = inspect.signature(kernel)

        @functools.wraps(kernel)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for check in checks:
                check(**bound.arguments)
            return kernel(*args, **kwargs)

        guarded.bare = kernel
        return guarded

    return decorate
