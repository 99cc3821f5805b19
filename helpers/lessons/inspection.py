"""Looking inside a trained digit classifier: its confusions, its surest mistakes, its first layer."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from torch import nn


IMAGE_SHAPE = (28, 28)


@torch.no_grad()
def class_probabilities(model: nn.Module, images: torch.Tensor, *, batch_size: int = 2000) -> torch.Tensor:
    """Softmax of `model`'s outputs (in eval mode) for every image, shape (N, classes)."""
    if len(images) == 0:
        raise ValueError("no images to classify: the input is empty")
    model.eval()
    return torch.cat([model(batch).softmax(dim=1) for batch in images.split(batch_size)])


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs: entry [i, j] is how often digit i was called j."""
    if labels.shape != predictions.shape or labels.dim() != 1:
        raise ValueError(
            f"labels and predictions must be 1-D and of the same length, got shapes "
            f"{tuple(labels.shape)} and {tuple(predictions.shape)}"
        )
    for name, values in (("labels", labels), ("predictions", predictions)):
        if len(values) and not (0 <= int(values.min()) and int(values.max()) < classes):
            raise ValueError(f"{name} must be class numbers from 0 to {classes - 1}, "
                             f"found {int(values.min())} to {int(values.max())}")
    pairs = labels.long().cpu() * classes + predictions.long().cpu()
    return torch.bincount(pairs, minlength=classes * classes).reshape(classes, classes)


def plot_confusion_matrix(matrix: torch.Tensor, *, title: str = "Confusion matrix") -> Figure:
    """The confusion matrix with every count written in; colour shows the mistakes only (off the diagonal)."""
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {tuple(matrix.shape)}")
    classes = matrix.shape[0]
    matrix = matrix.cpu()
    mistakes = matrix.clone().fill_diagonal_(0).numpy()
    figure = Figure(figsize=(6, 5.2), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(mistakes, cmap="Reds", vmin=0)
    for i in range(classes):
        for j in range(classes):
            dark = mistakes[i, j] > 0.6 * mistakes.max()
            axes.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=8,
                      fontweight="bold" if i == j else "normal", color="white" if dark else "black")
    axes.set(xticks=range(classes), yticks=range(classes), xlabel="predicted digit", ylabel="true digit",
             title=title)
    figure.colorbar(image, ax=axes, label="mistakes (off-diagonal count)")
    return figure


def most_confident_mistakes(probabilities: torch.Tensor, labels: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the `count` wrongly classified samples whose predicted class had the highest probability."""
    if probabilities.dim() != 2 or len(probabilities) != len(labels):
        raise ValueError(f"probabilities must be (N, classes) with one row per label, got shape "
                         f"{tuple(probabilities.shape)} for {len(labels)} labels")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    confidence, predictions = probabilities.max(dim=1)
    wrong = torch.nonzero(predictions != labels).flatten()
    order = confidence[wrong].argsort(descending=True, stable=True)
    return wrong[order[:count]]


def plot_first_layer_weights(weight: torch.Tensor, units: int = 24, *, columns: int = 8) -> Figure:
    """The incoming weights of the first `units` hidden units, each drawn as a 28 x 28 image.

    Red pixels push a unit's input up, blue ones down; each image has its own
    colour scale, symmetric about zero.
    """
    pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if weight.dim() != 2 or weight.shape[1] != pixels:
        raise ValueError(f"expected the first Linear layer's weight, of shape (hidden units, {pixels}), "
                         f"got {tuple(weight.shape)}")
    if not 1 <= units <= weight.shape[0]:
        raise ValueError(f"units must lie between 1 and {weight.shape[0]} (the hidden units there are), got {units}")
    weights = weight[:units].detach().cpu().reshape(-1, *IMAGE_SHAPE).numpy()
    rows = math.ceil(units / columns)
    figure = Figure(figsize=(1.2 * columns, 1.4 * rows + 0.5), layout="constrained")
    for unit, (axes, image) in enumerate(zip(figure.subplots(rows, columns, squeeze=False).flat, weights)):
        limit = float(abs(image).max())
        axes.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_title(f"unit {unit}", fontsize=8)
    for axes in figure.axes:
        axes.axis("off")
    figure.suptitle(f"First-layer weights of {units} hidden units (red: positive, blue: negative)")
    return figure
