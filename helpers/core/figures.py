"""Small images in a labelled grid: grey-scale digits, or the colour-tinted ones."""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure
from torch import Tensor


def plot_image_grid(
    images: Tensor,
    *,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    columns: int = 8,
    title: str = "",
) -> Figure:
    """Images `(N, 1, H, W)` (drawn dark on white) or `(N, 3, H, W)` (drawn in colour on black) in a grid.

    Values must lie in [0, 1]. `titles` names each image, `row_labels` each row
    (written to its left); the grid is filled row by row, `columns` wide.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"images must be (N, 1, H, W) or (N, 3, H, W) with N >= 1, got {tuple(images.shape)}")
    if images.min() < 0 or images.max() > 1:
        raise ValueError(
            f"image values must lie in [0, 1], got [{images.min():.3g}, {images.max():.3g}]; "
            "show images before normalizing them"
        )
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    rows = math.ceil(len(images) / columns)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles: give one title per image")
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"the grid has {rows} rows but {len(row_labels)} row labels: give one per row")
    figure = Figure(figsize=(1.1 * columns + (1.2 if row_labels else 0), 1.2 * rows + 0.4), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        axes.set(xticks=[], yticks=[])
        axes.spines[:].set_visible(False)
        if index >= len(images):
            continue
        image = images[index].detach().cpu().numpy()
        if image.shape[0] == 1:
            axes.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
        else:
            axes.imshow(image.transpose(1, 2, 0))
        if titles is not None:
            axes.set_title(titles[index], fontsize=9)
    for axes, label in zip(grid[:, 0], row_labels or []):
        axes.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        figure.suptitle(title)
    return figure
