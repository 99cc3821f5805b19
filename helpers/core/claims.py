"""Claims: what a notebook's prose states in words about its results, checked where the notebook runs.

A sentence such as "the sigmoid network stays at chance" is a result, and a result can
stop holding on another processor, thread count, PyTorch or GPU. Each one is backed by a
`claim(condition, sentence)` in a hidden cell next to the output it describes (see
CONTRIBUTING.md), so running the notebook, and nbval in the test suite, fails the day the
sentence stops being true, quoting it.
"""

from __future__ import annotations


class ClaimFailed(AssertionError):
    """A sentence of the notebook's prose does not hold for the results of this run."""


def claim(condition: object, sentence: str) -> None:
    """Do nothing if `condition` holds; else raise `ClaimFailed` quoting `sentence`, the prose it backs."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise TypeError("claim needs the sentence it backs, quoted from the notebook's prose, as a non-empty string")
    try:
        holds = bool(condition)
    except (RuntimeError, ValueError) as error:  # a tensor or array of several values has no single truth
        raise TypeError(f"claim needs one true-or-false condition, got {type(condition).__name__}: {error}") from None
    if not holds:
        raise ClaimFailed(
            f"The notebook says {sentence!r}, and on this run that does not hold. "
            "Look at the output above; then correct the sentence, or the claim that checks it."
        )
