"""The exercise checker: right answers pass, typical mistakes earn their hint, errors become feedback."""

import pytest
import torch

from helpers.core.exercises import Case, Feedback, check_cases


def double_cases():
    x = torch.tensor([1.0, -2.0, 3.0])
    return [
        Case(
            "three numbers",
            lambda answer: answer(x),
            2 * x,
            hint="Multiply every number by 2.",
            mistakes=[(x + 2, "You added 2 instead of multiplying by 2.")],
        ),
        Case("an empty tensor", lambda answer: answer(torch.empty(0)), torch.empty(0), hint="Keep the shape."),
    ]


def test_a_right_answer_passes_every_case_and_says_so():
    feedback = check_cases("doubling", lambda x: x * 2, double_cases())
    assert feedback.passed
    assert repr(feedback) == "Correct: doubling passes all 2 checks (three numbers, an empty tensor)."


def test_a_known_mistake_earns_its_own_hint():
    feedback = check_cases("doubling", lambda x: x + 2, double_cases())
    assert not feedback.passed
    assert "on three numbers" in feedback.message and "You added 2 instead" in feedback.message


def test_another_wrong_answer_gets_the_gap_and_the_general_hint():
    feedback = check_cases("doubling", lambda x: x * 3, double_cases())
    assert not feedback.passed
    assert "off by up to 3" in feedback.message and "Multiply every number by 2." in feedback.message


def test_a_wrong_shape_is_named():
    feedback = check_cases("doubling", lambda x: (2 * x).unsqueeze(0), double_cases())
    assert "shape (1, 3), expected (3,)" in feedback.message


def test_a_missing_return_is_named():
    feedback = check_cases("doubling", lambda x: None, double_cases())
    assert "None (did you forget `return`?)" in feedback.message


def test_an_unwritten_answer_says_what_to_do_and_an_error_becomes_feedback():
    def unwritten(x):
        raise NotImplementedError

    assert "Replace `raise NotImplementedError`" in check_cases("doubling", unwritten, double_cases()).message
    feedback = check_cases("doubling", lambda x: x @ torch.ones(2, 2), double_cases())
    assert not feedback.passed and "raised RuntimeError" in feedback.message


def test_numbers_and_tuples_are_compared_too():
    case = Case("a pair", lambda answer: answer(), (torch.tensor([1.0]), 0.5), hint="Return (tensor, number).")
    assert check_cases("pair", lambda: (torch.tensor([1.0]), 0.5), [case]).passed
    wrong = check_cases("pair", lambda: (torch.tensor([1.0]), 0.25), [case])
    assert "item 1 of the result is wrong: the result is 0.25, expected 0.5" in wrong.message


def test_nan_in_the_same_places_matches_but_nan_elsewhere_does_not():
    expected = torch.tensor([float("nan"), 1.0])
    case = Case("nan", lambda answer: answer(), expected, hint="")
    assert check_cases("nan", lambda: expected.clone(), [case]).passed
    assert not check_cases("nan", lambda: torch.tensor([float("nan"), float("nan")]), [case]).passed


def test_passing_something_that_is_not_a_function_is_refused_with_a_fix():
    with pytest.raises(TypeError, match=r"pass your function itself"):
        check_cases("doubling", 3, double_cases())


def test_feedback_shows_its_message():
    assert repr(Feedback(True, "Correct: fine.")) == "Correct: fine."
