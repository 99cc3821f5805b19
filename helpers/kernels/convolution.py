"""A filter sliding across an image: 2-D cross-correlation from scratch.

What deep-learning libraries call a convolution layer computes a cross-correlation:
the filter is laid over each window of the image, multiplied element by element
and summed, without flipping the filter first.
"""

from __future__ import annotations

import torch

from helpers.core.checks import checked

FILTERS: dict[str, torch.Tensor] = {
    "vertical edge": torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
    "horizontal edge": torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]),
    "blur": torch.full((3, 3), 1.0 / 9.0),
    "sharpen": torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
}
"""Hand-made 3x3 filters: Sobel edge detectors, a box blur and a sharpening filter."""


def check_image_and_kernel(image: torch.Tensor, kernel: torch.Tensor, **_) -> None:
    """Both 2-D and not empty, and the kernel no larger than the image."""
    if image.dim() != 2 or kernel.dim() != 2:
        raise ValueError(
            f"image and kernel must both be 2-D (height, width), got shapes {tuple(image.shape)} and "
            f"{tuple(kernel.shape)}; take one channel, e.g. images[0, 0]"
        )
    if 0 in kernel.shape or 0 in image.shape:
        raise ValueError(
            f"image {tuple(image.shape)} and kernel {tuple(kernel.shape)} must both have at least one row and one column"
        )
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(
            f"kernel {tuple(kernel.shape)} does not fit inside image {tuple(image.shape)}; use a smaller kernel"
        )


@checked(check_image_and_kernel)
def cross_correlate2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Slide `kernel` over every position of `image` (stride 1, no padding) and sum the products.

    Both are 2-D; the result has shape (H - kh + 1, W - kw + 1), exactly what
    `torch.nn.functional.conv2d` returns for one channel and one filter.
    """
    height, width = kernel.shape
    rows = image.shape[0] - height + 1
    cols = image.shape[1] - width + 1
    return torch.stack(
        [torch.stack([(image[i : i + height, j : j + width] * kernel).sum() for j in range(cols)]) for i in range(rows)]
    )
