"""Notebook 05, data augmentation: a random affine change of every image, drawn per image, and a shift exercise.

`random_affine` is the augmentation the notebook builds and shows: one random
rotation, shear and scaling per image, applied to a whole batch in one call
(`torch.nn.functional.affine_grid` and `grid_sample`), which is what lets the
notebook augment 1000 images every epoch in milliseconds. The argument checks run
before it (`@checked`); the function body is the notebook's code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from helpers.core.checks import checked
from helpers.core.exercises import Case, Feedback, check_cases


def check_affine_input(images: object, degrees: float, shear: float, scale: float, **_) -> None:
    """A batch of images `(N, C, H, W)` and magnitudes that keep an image an image."""
    if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images must be a floating-point batch of shape (N, C, H, W), got {shape}")
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(
            f"images must be square (H = W), so that a turn keeps their proportions; got {images.shape[-2:]}"
        )
    if not 0 <= degrees <= 180:
        raise ValueError(f"degrees is the largest turn either way and must lie in [0, 180], got {degrees}")
    if not 0 <= shear < 90:
        raise ValueError(f"shear is the largest slant either way, in degrees, and must lie in [0, 90), got {shear}")
    if not 0 <= scale < 1:
        raise ValueError(f"scale is the largest change of size, as a fraction (0.1 = 10%), in [0, 1); got {scale}")


@checked(check_affine_input)
def random_affine(
    images: Tensor,
    degrees: float = 0.0,
    shear: float = 0.0,
    scale: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Turn, slant and resize every square image of a batch `(N, C, H, W)` about its centre, each by its own amounts.

    Each image draws an angle in [-degrees, degrees], a shear angle in [-shear, shear]
    and a size factor in [1 - scale, 1 + scale]. Pixels that come in from outside the
    frame are black (0).
    """
    n = len(images)

    def uniform(limit: float) -> Tensor:  # n numbers drawn evenly from [-limit, limit]
        return (2 * torch.rand(n, generator=generator) - 1) * limit

    turn, slant, size = torch.deg2rad(uniform(degrees)), torch.deg2rad(uniform(shear)), 1 + uniform(scale)
    one, zero = torch.ones(n), torch.zeros(n)
    rotation = torch.stack([turn.cos(), -turn.sin(), turn.sin(), turn.cos()], dim=1).reshape(n, 2, 2)
    shearing = torch.stack([one, slant.tan(), zero, one], dim=1).reshape(n, 2, 2)
    moves = size[:, None, None] * rotation @ shearing  # where each pixel goes, relative to the centre
    # grid_sample asks the opposite question, so it gets the inverse: where does each new pixel come from?
    comes_from = torch.cat([torch.linalg.inv(moves), torch.zeros(n, 2, 1)], dim=2)
    return F.grid_sample(images, F.affine_grid(comes_from, images.shape, align_corners=False), align_corners=False)


def _shifted(image: Tensor, dx: int, dy: int) -> Tensor:
    """The reference: `image` (..., H, W) moved `dx` pixels right and `dy` down, black where nothing comes in."""
    height, width = image.shape[-2:]
    result = torch.zeros_like(image)
    if abs(dx) < width and abs(dy) < height:
        result[..., max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = image[
            ..., max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
        ]
    return result


def check_shift(answer: Callable[[Tensor, int, int], Tensor]) -> Feedback:
    """Check `answer(image, dx, dy)`: the image moved `dx` pixels right and `dy` down, with black coming in."""
    image = torch.arange(1.0, 26.0).reshape(1, 5, 5)  # every pixel different, none black
    wraps = "Pixels that leave the frame must not come back on the other side (torch.roll wraps around): fill with 0."
    general = (
        "Start from torch.zeros_like(image) and copy the part of the image that stays inside the frame, "
        "moved dx columns to the right (last dimension) and dy rows down (the one before)."
    )

    def case(name: str, dx: int, dy: int) -> Case:
        return Case(
            name,
            lambda shift: shift(image.clone(), dx, dy),
            _shifted(image, dx, dy),
            hint=general,
            mistakes=[
                (torch.roll(image, (dy, dx), dims=(-2, -1)), wraps),
                (_shifted(image, dy, dx), "dx and dy are swapped: dx moves along the width (columns), dy the height."),
                (_shifted(image, -dx, -dy), "The image moved the wrong way: a positive dx moves it right, dy down."),
            ],
        )

    cases = [
        case("a 5 x 5 image moved 2 right and 1 down", 2, 1),
        case("a 5 x 5 image moved 1 left and 3 up", -1, -3),
        case("no move at all", 0, 0),
        Case(
            "a batch of 2 images moved 1 right",
            lambda shift: shift(torch.stack([image, -image]), 1, 0),
            _shifted(torch.stack([image, -image]), 1, 0),
            hint="Work on the last two dimensions only, so that a batch (N, C, H, W) keeps its shape.",
        ),
    ]
    return check_cases("your shift", answer, cases)
