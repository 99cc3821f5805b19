"""The exercise checker: right answers pass, typical mistakes earn their hint, errors become feedback."""

import signal
import time

import nbformat
import pytest
import torch

from helpers.core.exercises import Case, Feedback, check_cases, tensor_like
from helpers.execute import execute_notebook


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


def test_a_not_implemented_error_from_inside_torch_is_the_code_s_error_not_an_unwritten_stub():
    from_torch_c = check_cases("doubling", lambda x: torch.tensor(x.to("meta").tolist()), double_cases())
    assert "your code raised NotImplementedError: Cannot copy out of meta tensor" in from_torch_c.message
    from_torch_python = check_cases(
        "doubling", lambda x: torch.distributions.Distribution(validate_args=False).sample(), double_cases()
    )
    assert "your code raised NotImplementedError" in from_torch_python.message
    assert "Not written yet" not in from_torch_c.message + from_torch_python.message


def test_a_result_on_another_device_or_of_another_dtype_is_named():
    on_meta = check_cases("doubling", lambda x: (2 * x).to("meta"), double_cases())
    assert not on_meta.passed
    assert "the result is on the meta device, expected cpu: make new tensors where the input is" in on_meta.message
    rounded = check_cases("doubling", lambda x: (2 * x).long(), double_cases())
    assert "the result has dtype torch.int64, expected torch.float32 (leave out conversions" in rounded.message


def test_a_case_that_measures_the_result_names_what_is_wrong_with_it_first():
    x = torch.ones(4)
    case = Case("the zeros", lambda answer: (tensor_like(answer(x), x) == 0).float().sum(), 0.0, hint="Keep them.")
    missing = check_cases("keeping", lambda x: None, [case])
    assert missing.message == (
        "Not yet: on the zeros the result is None (did you forget `return`?), expected a tensor of shape (4,). Keep them."
    )
    assert check_cases("keeping", lambda x: x, [case]).passed


def test_torch_s_global_state_and_random_numbers_are_put_back_after_the_student_s_code():
    def meddling(x):
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(1)
        torch.set_default_device("meta")
        torch.rand(100, device="cpu")
        return 2 * x

    threads = torch.get_num_threads()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    assert check_cases("doubling", meddling, double_cases()).passed
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    assert torch.get_num_threads() == threads and torch.ones(1).device == torch.device("cpu")
    assert torch.equal(torch.rand(3), expected)  # the notebook's random sequence goes on as if nothing had run


def test_random_student_code_gets_the_same_feedback_every_time():
    noisy = lambda x: 2 * x + torch.rand_like(x)  # noqa: E731
    assert (
        check_cases("doubling", noisy, double_cases()).message == check_cases("doubling", noisy, double_cases()).message
    )


def never_returns(x):
    while True:
        try:
            x = x + 1
        except Exception:  # a student's broad except must not swallow the stop
            pass


def test_a_function_that_never_returns_is_stopped_with_a_hint():
    start = time.perf_counter()
    feedback = check_cases("doubling", never_returns, double_cases(), time_limit=0.5)
    assert time.perf_counter() - start < 5
    assert feedback.message.startswith(
        "On three numbers your code was still running after 0.5 s, so it was stopped: look for a loop that never ends."
    )
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.slow  # starts a Jupyter kernel
def test_in_a_jupyter_kernel_a_function_that_never_returns_is_stopped(tmp_path):
    source = (
        "import torch\n"
        "from helpers.core.exercises import Case, check_cases\n"
        "def forever(x):\n"
        "    while True:\n"
        "        pass\n"
        "case = Case('a case', lambda answer: answer(torch.ones(2)), torch.ones(2), hint='Return x.')\n"
        "print(check_cases('the identity', forever, [case], time_limit=1))"
    )
    path = tmp_path / "01-forever.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    execute_notebook(path, timeout=60)
    printed = nbformat.read(path, as_version=4).cells[0].outputs[0].text
    assert printed.startswith("On a case your code was still running after 1 s, so it was stopped")
