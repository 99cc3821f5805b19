"""Augmentation helpers: the affine changes and per-image random draws."""

import pytest
import torch
from torchvision.transforms import v2

from helpers.core.seeding import seed_everything
from helpers.lessons.data_augmentation import augment_each, per_image, random_affine


def digit_like(count: int = 1) -> torch.Tensor:
    images = torch.zeros(count, 1, 28, 28)
    images[:, :, 4:24, 12:16] = 1.0  # an upright bar, changed visibly by any rotation or shear
    return images


@pytest.mark.parametrize("kind", ["rotation", "shear", "scaling"])
def test_magnitude_zero_changes_nothing(kind):
    image = digit_like()[0]
    assert torch.equal(random_affine(kind, 0)(image), image)


def test_each_kind_sets_only_its_own_range():
    rotation, shear, scaling = random_affine("rotation", 30), random_affine("shear", 20), random_affine("scaling", 25)
    assert rotation.degrees == [-30.0, 30.0] and rotation.shear is None and rotation.scale is None
    assert shear.degrees == [0.0, 0.0] and shear.shear == [-20.0, 20.0] and shear.scale is None
    assert scaling.degrees == [0.0, 0.0] and scaling.shear is None and scaling.scale == (0.75, 1.25)


def test_a_half_turn_is_what_a_rotation_of_180_degrees_can_draw():
    image = digit_like()[0]
    image[:, 4, 12] = 0.5  # break the bar's symmetry
    turned = v2.functional.rotate(image, 180)
    assert torch.equal(turned, torch.flip(image, dims=(1, 2)))
    assert random_affine("rotation", 180).degrees == [-180.0, 180.0]


def test_rejects_unknown_kinds_and_impossible_magnitudes():
    with pytest.raises(ValueError, match=r"unknown kind 'flip'; choose one of \('rotation', 'shear', 'scaling'\)"):
        random_affine("flip", 10)
    with pytest.raises(ValueError, match=r"shear magnitude must lie in \[0, 90\) degrees, got 90"):
        random_affine("shear", 90)
    with pytest.raises(ValueError, match=r"scaling magnitude must lie in \[0, 100\) percent, got 100"):
        random_affine("scaling", 100)
    with pytest.raises(ValueError, match=r"rotation magnitude must lie in \[0, 180\] degrees, got -5"):
        random_affine("rotation", -5)


def test_augment_each_draws_fresh_parameters_for_every_image():
    seed_everything(0)
    out = augment_each(digit_like(8), random_affine("rotation", 45))
    assert out.shape == (8, 1, 28, 28)
    assert len({tuple(image.flatten().tolist()) for image in out}) >= 6  # two close angles may round alike
    seed_everything(0)
    batch = random_affine("rotation", 45)(digit_like(8))  # called on the batch: one draw for all
    assert len({tuple(image.flatten().tolist()) for image in batch}) == 1


def test_augment_each_applies_a_fixed_transform_like_the_batch_version():
    images = torch.rand(5, 1, 6, 6)
    assert torch.equal(augment_each(images, v2.functional.horizontal_flip), images.flip(-1))


def test_augment_each_rejects_bad_input():
    with pytest.raises(TypeError, match="transform must be callable"):
        augment_each(digit_like(2), "rotate")
    with pytest.raises(ValueError, match=r"batch of shape \(N, C, H, W\)"):
        augment_each(digit_like(2)[:, 0], v2.functional.horizontal_flip)


def test_per_image_draws_fresh_parameters_for_every_image():
    batch = per_image(random_affine("rotation", 45))(digit_like(8))
    assert batch.shape == (8, 1, 28, 28)
    assert len({tuple(image.flatten().tolist()) for image in batch}) > 1
    with pytest.raises(TypeError, match="transform must be callable"):
        per_image("rotate")
