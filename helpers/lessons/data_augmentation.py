"""Notebook 05, data augmentation: random, label-preserving changes to the training images, fresh every epoch.

The random transforms themselves come from `torchvision.transforms.v2`. Called on
a batch tensor, a v2 transform draws *one* set of random parameters for the whole
batch, so `augment_each` calls it image by image to give every image its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor
from torchvision.transforms import v2

ImageTransform = Callable[[Tensor], Tensor]

AFFINE_KINDS = ("rotation", "shear", "scaling")


def random_affine(kind: str, magnitude: float) -> v2.RandomAffine:
    """One kind of random affine change, as strong as `magnitude`.

    - "rotation": turn by an angle drawn from [-magnitude, magnitude] degrees, magnitude up to 180;
    - "shear": slant sideways (skew) by an angle drawn from [-magnitude, magnitude] degrees, below 90;
    - "scaling": grow or shrink by a factor drawn from 1 -/+ magnitude percent, below 100.
    """
    if kind not in AFFINE_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {AFFINE_KINDS}")
    valid = {"rotation": 0 <= magnitude <= 180, "shear": 0 <= magnitude < 90, "scaling": 0 <= magnitude < 100}
    if not valid[kind]:
        ranges = {"rotation": "[0, 180] degrees", "shear": "[0, 90) degrees", "scaling": "[0, 100) percent"}
        raise ValueError(f"a {kind} magnitude must lie in {ranges[kind]}, got {magnitude}")
    if kind == "rotation":
        return v2.RandomAffine(degrees=magnitude)
    if kind == "shear":
        return v2.RandomAffine(degrees=0, shear=magnitude)
    return v2.RandomAffine(degrees=0, scale=(1 - magnitude / 100, 1 + magnitude / 100))


def augment_each(images: Tensor, transform: ImageTransform) -> Tensor:
    """Apply `transform` to every image of `(N, C, H, W)` separately, with its own random draw."""
    if not callable(transform):
        raise TypeError(f"transform must be callable (e.g. a v2.RandomAffine), got {transform!r}")
    if images.dim() != 4:
        raise ValueError(f"images must be a batch of shape (N, C, H, W), got {tuple(images.shape)}")
    return torch.stack([transform(image) for image in images])


def per_image(transform: ImageTransform) -> Callable[[Tensor], Tensor]:
    """`transform` lifted to a whole batch, one random draw per image: pass it as `fit(..., augment=...)`."""
    if not callable(transform):
        raise TypeError(f"transform must be callable (e.g. a v2.RandomAffine), got {transform!r}")
    return partial(augment_each, transform=transform)
