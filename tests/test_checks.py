"""Tests for helpers.core.checks: the shared argument checks and the `checked` guard of the kernels."""

import pytest

from helpers.core.checks import check_pairs, check_positive_int, checked


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "4", None])
def test_check_positive_int_rejects_everything_but_positive_integers(value):
    with pytest.raises(ValueError, match=rf"width must be a positive integer \(units\), got {value!r}"):
        check_positive_int("width", value, " (units)")


def test_check_positive_int_returns_the_value():
    assert check_positive_int("width", 3) == 3


def test_check_pairs():
    check_pairs([1, 2], [3, 4])
    with pytest.raises(ValueError, match="3 inputs but 2 labels: they must pair up one to one"):
        check_pairs([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="no data: the inputs are empty"):
        check_pairs([], [])


def test_checked_runs_every_check_with_the_arguments_by_name_then_the_bare_kernel():
    seen = []

    def check_x(x, **_):
        seen.append(("x", x))
        if x < 0:
            raise ValueError("x must not be negative")

    def check_scale(scale, **_):
        seen.append(("scale", scale))

    @checked(check_x, check_scale)
    def scaled(x, *, scale=2):
        """Multiply."""
        return x * scale

    assert scaled(3) == 6 and seen == [("x", 3), ("scale", 2)]
    assert scaled.__name__ == "scaled" and scaled.__doc__ == "Multiply."
    with pytest.raises(ValueError, match="must not be negative"):
        scaled(-1, scale=5)
    assert scaled.bare(-1, scale=5) == -5  # the kernel itself, unguarded
