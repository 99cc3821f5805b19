"""Tests for helpers.kernels.convolution: from-scratch cross-correlation against torch.nn.functional.conv2d."""

import pytest
import torch
import torch.nn.functional as F

from helpers.kernels.convolution import FILTERS, cross_correlate2d


def conv2d_reference(image, kernel):
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


@pytest.mark.parametrize("image_shape, kernel_shape", [((28, 28), (3, 3)), ((7, 9), (2, 4)), ((5, 5), (5, 5))])
def test_matches_conv2d(image_shape, kernel_shape):
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(image_shape, generator=generator)
    kernel = torch.randn(kernel_shape, generator=generator)
    torch.testing.assert_close(cross_correlate2d(image, kernel), conv2d_reference(image, kernel))


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_hand_made_filters_match_conv2d(name):
    image = torch.rand(12, 12, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(cross_correlate2d(image, FILTERS[name]), conv2d_reference(image, FILTERS[name]))


def test_hand_made_filters_do_what_their_names_say():
    step = torch.zeros(6, 6)
    step[:, 3:] = 1.0  # dark left half, bright right half: one vertical edge
    assert cross_correlate2d(step, FILTERS["vertical edge"]).abs().sum() > 0
    assert cross_correlate2d(step, FILTERS["horizontal edge"]).abs().sum() == 0
    flat = torch.full((5, 5), 0.3)
    torch.testing.assert_close(cross_correlate2d(flat, FILTERS["blur"]), torch.full((3, 3), 0.3))
    torch.testing.assert_close(cross_correlate2d(flat, FILTERS["sharpen"]), torch.full((3, 3), 0.3))


def test_gradients_match_conv2d():
    generator = torch.Generator().manual_seed(2)
    image = torch.randn(8, 6, generator=generator, requires_grad=True)
    kernel = torch.randn(3, 2, generator=generator, requires_grad=True)
    upstream = torch.randn(6, 5, generator=generator)
    ours = torch.autograd.grad((cross_correlate2d(image, kernel) * upstream).sum(), (image, kernel))
    reference = torch.autograd.grad((conv2d_reference(image, kernel) * upstream).sum(), (image, kernel))
    for mine, theirs in zip(ours, reference):
        torch.testing.assert_close(mine, theirs)


def test_rejects_inputs_that_are_not_2d():
    with pytest.raises(ValueError, match="must both be 2-D"):
        cross_correlate2d(torch.rand(1, 28, 28), FILTERS["blur"])


def test_rejects_a_kernel_larger_than_the_image():
    with pytest.raises(ValueError, match="does not fit inside image"):
        cross_correlate2d(torch.rand(2, 5), torch.rand(3, 3))


@pytest.mark.parametrize("kernel_shape", [(0, 0), (0, 3), (3, 0)])
def test_an_empty_kernel_is_rejected(kernel_shape):
    with pytest.raises(ValueError, match="must both have at least one row and one column"):
        cross_correlate2d(torch.ones(5, 5), torch.ones(kernel_shape))
