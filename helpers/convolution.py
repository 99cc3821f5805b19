"""A filter sliding across an image: 2-D cross-correlation from scratch, and a picture of it.

What deep-learning libraries call a convolution layer computes a cross-correlation:
the filter is laid over each window of the image, multiplied element by element
and summed, without flipping the filter first.
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

FILTERS: dict[str, torch.Tensor] = {
    "vertical edge": torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
    "horizontal edge": torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]),
    "blur": torch.full((3, 3), 1.0 / 9.0),
    "sharpen": torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
}
"""Hand-made 3x3 filters: Sobel edge detectors, a box blur and a sharpening filter."""


def _check_pair(image: torch.Tensor, kernel: torch.Tensor) -> None:
    if image.dim() != 2 or kernel.dim() != 2:
        raise ValueError(
            f"image and kernel must both be 2-D (height, width), got shapes {tuple(image.shape)} and "
            f"{tuple(kernel.shape)}; take one channel, e.g. images[0, 0]"
        )
    if 0 in kernel.shape or 0 in image.shape:
        raise ValueError(f"image {tuple(image.shape)} and kernel {tuple(kernel.shape)} must both have at least one "
                         "row and one column")
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(
            f"kernel {tuple(kernel.shape)} does not fit inside image {tuple(image.shape)}; use a smaller kernel"
        )


def cross_correlate2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Slide `kernel` over every position of `image` (stride 1, no padding) and sum the products.

    Both are 2-D; the result has shape (H - kh + 1, W - kw + 1), exactly what
    `torch.nn.functional.conv2d` returns for one channel and one filter.
    """
    _check_pair(image, kernel)
    height, width = kernel.shape
    rows = image.shape[0] - height + 1
    cols = image.shape[1] - width + 1
    return torch.stack(
        [
            torch.stack([(image[i : i + height, j : j + width] * kernel).sum() for j in range(cols)])
            for i in range(rows)
        ]
    )


def draw_sliding_filter(image: torch.Tensor, kernel: torch.Tensor, position: int, name: str = "") -> Figure:
    """The filter at window number `position` (counted row by row) and the feature map built up to it.

    Three panels: the image with the current window outlined, the filter's
    weights, and the feature map with every window up to `position` filled in.
    """
    feature_map = cross_correlate2d(image, kernel).detach()
    rows, cols = feature_map.shape
    if not 0 <= position < rows * cols:
        raise ValueError(f"position must lie in [0, {rows * cols}) for this image and kernel, got {position}")
    row, col = divmod(position, cols)
    visited = torch.full_like(feature_map, float("nan")).flatten()
    visited[: position + 1] = feature_map.flatten()[: position + 1]
    limit = float(feature_map.abs().max()) or 1.0

    # Fixed panel positions (figure fractions): far quicker to render than an automatic layout.
    figure = plt.figure(figsize=(8, 3))
    left, middle, right = (figure.add_axes((x, 0.04, 0.2875, 0.767)) for x in (0.01, 0.315, 0.62))
    left.imshow(image.detach().numpy(), cmap="gray_r")
    left.add_patch(Rectangle((col - 0.5, row - 0.5), kernel.shape[1], kernel.shape[0], fill=False, color="C3", lw=2))
    left.set_title("input and current window", fontsize=10)
    reach = float(kernel.abs().max()) or 1.0
    middle.imshow(kernel.detach().numpy(), cmap="RdBu_r", vmin=-reach, vmax=reach)
    for i, j in itertools.product(range(kernel.shape[0]), range(kernel.shape[1])):
        weight = float(kernel[i, j])
        colour = "white" if abs(weight) > 0.6 * reach else "black"
        middle.text(j, i, f"{weight:.2f}", ha="center", va="center", fontsize=8, color=colour)
    middle.set_title(f"filter: {name}" if name else "filter", fontsize=10)
    colours = plt.get_cmap("RdBu_r").with_extremes(bad="0.8")  # grey: windows not reached yet
    shown = right.imshow(visited.view(rows, cols).numpy(), cmap=colours, vmin=-limit, vmax=limit)
    right.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, color="C3", lw=2))
    right.set_title(f"feature map, window {position + 1} of {rows * cols}", fontsize=10)
    figure.colorbar(shown, cax=figure.add_axes((0.92, 0.04, 0.015, 0.767)))
    for axes in (left, middle, right):
        axes.set_xticks([])
        axes.set_yticks([])
    return figure
