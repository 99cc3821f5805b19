"""The batch augmentation (`random_affine`) and the shift-exercise checker of notebook 05."""

import math

import pytest
import torch
from notebook_code import solution_namespace
from torchvision.transforms import v2

from helpers.lessons.data_augmentation import check_shift, random_affine


def digit_like(count: int = 1) -> torch.Tensor:
    images = torch.zeros(count, 1, 28, 28)
    images[:, :, 4:24, 12:16] = 1.0  # an upright bar, changed visibly by any rotation or shear
    return images


def test_zero_magnitudes_change_nothing():
    images = torch.rand(4, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(random_affine(images), images, atol=1e-5)


def test_every_image_gets_its_own_draw_and_a_seeded_generator_repeats_them():
    first = random_affine(digit_like(8), degrees=45, generator=torch.Generator().manual_seed(1))
    again = random_affine(digit_like(8), degrees=45, generator=torch.Generator().manual_seed(1))
    assert first.shape == (8, 1, 28, 28) and torch.equal(first, again)
    assert len({tuple(image.flatten().tolist()) for image in first}) == 8


def test_a_rotation_matches_torchvision_at_the_drawn_angle():
    image = digit_like()
    image[:, :, 4, 12] = 0.5  # break the bar's symmetry
    turned = random_affine(image, degrees=40, generator=torch.Generator().manual_seed(3))
    angle = math.degrees(math.radians((2 * torch.rand(1, generator=torch.Generator().manual_seed(3)) - 1) * 40))
    both_ways = [
        v2.functional.rotate(image, sign * angle, interpolation=v2.InterpolationMode.BILINEAR) for sign in (1, -1)
    ]
    assert min((turned - reference).abs().mean().item() for reference in both_ways) < 0.01


def test_scaling_only_changes_the_size_about_the_centre():
    image = torch.zeros(1, 1, 28, 28)
    image[:, :, 10:18, 10:18] = 1.0  # a centred square
    grown = random_affine(image.expand(16, -1, -1, -1), scale=0.5, generator=torch.Generator().manual_seed(0))
    areas = grown.sum(dim=(1, 2, 3))
    assert areas.min() < 64 < areas.max()  # some shrink, some grow
    centres = (grown[:, 0].sum(dim=1) * torch.arange(28)).sum(dim=1) / areas
    assert torch.allclose(centres, torch.full((16,), 13.5), atol=0.2)


def test_a_v2_transform_called_on_a_batch_draws_once_for_all_images():
    torch.manual_seed(0)
    batch = v2.RandomAffine(degrees=45)(digit_like(8))
    assert len({tuple(image.flatten().tolist()) for image in batch}) == 1


def test_rejects_bad_input():
    with pytest.raises(ValueError, match=r"batch of shape \(N, C, H, W\)"):
        random_affine(torch.zeros(28, 28), degrees=10)
    with pytest.raises(ValueError, match="must be square"):
        random_affine(torch.zeros(2, 1, 28, 20), degrees=10)
    with pytest.raises(ValueError, match=r"degrees .* \[0, 180\], got 200"):
        random_affine(digit_like(), degrees=200)
    with pytest.raises(ValueError, match=r"shear .* \[0, 90\), got 90"):
        random_affine(digit_like(), shear=90)
    with pytest.raises(ValueError, match=r"scale .* \[0, 1\); got 1.5"):
        random_affine(digit_like(), scale=1.5)


SOLUTION = solution_namespace("05-data-augmentation", "my_shift")["my_shift"]


def test_the_reference_solution_passes_the_shift_check():
    feedback = check_shift(SOLUTION)
    assert feedback.passed, feedback.message


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda image, dx, dy: torch.roll(image, (dy, dx), dims=(-2, -1)), "torch.roll wraps around"),
        (lambda image, dx, dy: SOLUTION(image, dy, dx), "dx and dy are swapped"),
        (lambda image, dx, dy: SOLUTION(image, -dx, -dy), "The image moved the wrong way"),
        (lambda image, dx, dy: SOLUTION(image, dx, dy)[..., 1:, :], "expected (1, 5, 5)"),
        (lambda image, dx, dy: image, "Start from torch.zeros_like(image)"),
        (lambda image, dx, dy: None, "did you forget `return`?"),
        (lambda image, dx, dy: SOLUTION(image, dx, dy).long(), "dtype torch.int64, expected torch.float32"),
    ],
)
def test_typical_mistakes_in_the_shift_earn_their_hint(wrong, hint):
    feedback = check_shift(wrong)
    assert not feedback.passed and hint in feedback.message, feedback.message


def test_a_shift_that_only_handles_one_image_is_caught_on_the_batch():
    def one_image_only(image, dx, dy):
        return SOLUTION(image, dx, dy) if image.dim() == 3 else SOLUTION(image[0], dx, dy)

    feedback = check_shift(one_image_only)
    assert not feedback.passed and "keeps its shape" in feedback.message, feedback.message
