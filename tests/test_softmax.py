import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from helpers.softmax import cross_entropy, log_softmax, naive_softmax, plot_softmax, softmax


def test_matches_torch_softmax_for_ordinary_and_huge_logits():
    logits = 5 * torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(softmax(logits), torch.softmax(logits, dim=-1))
    huge = torch.tensor([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4]])
    torch.testing.assert_close(softmax(huge), torch.softmax(huge, dim=-1))
    assert torch.isnan(naive_softmax(huge)).any()  # the reason the stable form exists


def test_temperature_scales_logits_and_keeps_argmax():
    logits = torch.randn(32, 7, generator=torch.Generator().manual_seed(1))
    for temperature in [0.05, 0.5, 3.0, 40.0]:
        p = softmax(logits, temperature=temperature)
        torch.testing.assert_close(p, torch.softmax(logits / temperature, dim=-1))
        torch.testing.assert_close(p.sum(dim=-1), torch.ones(32))
        assert torch.equal(p.argmax(dim=-1), logits.argmax(dim=-1))


def test_softmax_along_another_dimension():
    logits = torch.randn(4, 5)
    torch.testing.assert_close(softmax(logits, dim=0), torch.softmax(logits, dim=0))


def test_log_softmax_is_stable():
    logits = torch.tensor([[1000.0, 0.0, -1000.0]])
    torch.testing.assert_close(log_softmax(logits), torch.log_softmax(logits, dim=-1))


def test_cross_entropy_matches_torch_including_gradient():
    logits = torch.randn(8, 10, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    targets = torch.tensor([0, 9, 3, 3, 5, 1, 2, 7])
    ours = cross_entropy(logits, targets)
    theirs = torch.nn.functional.cross_entropy(logits, targets)
    torch.testing.assert_close(ours, theirs)
    (grad,) = torch.autograd.grad(ours, logits)
    expected = (torch.softmax(logits, -1) - torch.nn.functional.one_hot(targets, 10)) / 8
    torch.testing.assert_close(grad, expected.detach())


@pytest.mark.parametrize("temperature", [0, -1.0, float("inf"), float("nan"), "hot"])
def test_bad_temperature_rejected(temperature):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        softmax(torch.zeros(3), temperature=temperature)


def test_bad_cross_entropy_input_rejected():
    with pytest.raises(ValueError, match=r"logits must have shape \(batch, classes\)"):
        cross_entropy(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\)"):
        cross_entropy(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="int64 class indices"):
        cross_entropy(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))


def test_plot_softmax_reports_sum_and_argmax():
    figure = plot_softmax(torch.tensor([0.0, 3.0, 1.0]), temperature=2.0)
    assert "sum = 1.000" in figure.axes[1].get_title() and "argmax = class 1" in figure.axes[1].get_title()


@pytest.mark.parametrize("names", [["a", "b"], ["a", "b", "c", "d"]])
def test_plot_softmax_needs_one_class_name_per_logit(names):
    with pytest.raises(ValueError, match=f"{len(names)} class names for 3 logits: give one name per class"):
        plot_softmax(torch.tensor([1.0, 2.0, 0.5]), class_names=names)


@pytest.mark.parametrize("logits", [torch.tensor([]), torch.ones(2, 3)])
def test_plot_softmax_needs_a_non_empty_vector(logits):
    with pytest.raises(ValueError, match="logits must be a non-empty 1-D tensor"):
        plot_softmax(logits)
