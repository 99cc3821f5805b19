"""Notebook 07, classifying digits: the lecture's worked example, its published figures, and the model inspected.

The notebook writes the lecture's recipe out itself (the transforms, the `DataLoader`s,
the network, the training loop). Here are the lecture's published results, the data
held in memory as tensors and shuffled as the lecture's `DataLoader` shuffles it, the
figures that look inside the trained model, and `check_training_step`, which checks the
exercise in which the student writes one training step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.core.checks import check_pairs
from helpers.core.data import IMAGE_PIXELS, IMAGE_SHAPE, mnist_tensors
from helpers.core.exercises import Case, Feedback, check_cases
from helpers.core.training import History

LECTURE_SEED = 1234
LECTURE_LAYERS = (IMAGE_PIXELS, 100, 10)

# The training log the lecture notes print, one line per epoch, then their test result.
LECTURE_LOG = """
Train Loss: 0.3272; Accuracy: 0.9175
Train Loss: 0.1421; Accuracy: 0.9604
Train Loss: 0.0999; Accuracy: 0.9721
Train Loss: 0.0760; Accuracy: 0.9790
Train Loss: 0.0611; Accuracy: 0.9828
Train Loss: 0.0496; Accuracy: 0.9861
Train Loss: 0.0422; Accuracy: 0.9879
Train Loss: 0.0359; Accuracy: 0.9898
Train Loss: 0.0310; Accuracy: 0.9914
Train Loss: 0.0265; Accuracy: 0.9928
Train Loss: 0.0226; Accuracy: 0.9937
Train Loss: 0.0200; Accuracy: 0.9947
Train Loss: 0.0183; Accuracy: 0.9948
Train Loss: 0.0175; Accuracy: 0.9952
Train Loss: 0.0160; Accuracy: 0.9957
Train Loss: 0.0130; Accuracy: 0.9967
Train Loss: 0.0130; Accuracy: 0.9964
Train Loss: 0.0105; Accuracy: 0.9975
Train Loss: 0.0104; Accuracy: 0.9973
Train Loss: 0.0104; Accuracy: 0.9973
"""
LECTURE_HISTORY = History(
    train_loss=[float(loss) for loss in re.findall(r"Loss: ([\d.]+)", LECTURE_LOG)],
    train_accuracy=[float(accuracy) for accuracy in re.findall(r"Accuracy: ([\d.]+)", LECTURE_LOG)],
)
LECTURE_TEST_LOSS = 0.0882
LECTURE_TEST_ACCURACY = 0.9774


def loader_shuffle_generator() -> torch.Generator:
    """The generator that a shuffling `DataLoader` (given no generator) shuffles one epoch with.

    It is drawn from PyTorch's global random state exactly as the DataLoader
    draws it (a seed for worker processes, then one for the sampler), so code
    that uses it sees the DataLoader's order and leaves the global state as the
    DataLoader would.
    """
    torch.empty((), dtype=torch.int64).random_()  # the iterator's base seed for worker processes
    seed = int(torch.empty((), dtype=torch.int64).random_().item())  # RandomSampler's seed
    return torch.Generator().manual_seed(seed)


def flat_mnist(train: bool, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """A whole MNIST split as one (N, 784) float tensor and one (N,) label tensor on `device`.

    The pixel values are exactly those the lecture's transforms, `ToTensor()` then `torch.flatten`, give one image at a time.
    """
    images, labels = mnist_tensors(train=train)
    return images.flatten(start_dim=1).to(device), labels.to(device)


def train_val_split(
    images: torch.Tensor, labels: torch.Tensor, *, val_size: int, seed: int = LECTURE_SEED
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split a training set at random into (train, validation) pairs, `val_size` samples for validation."""
    check_pairs(images, labels)
    if not 0 < val_size < len(labels):
        raise ValueError(
            f"val_size must lie between 1 and {len(labels) - 1} so that both parts are non-empty, got {val_size}"
        )
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).to(labels.device)
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])


def lecture_comparison(history: History, reference: History = LECTURE_HISTORY) -> str:
    """A Markdown table of per-epoch training loss and accuracy: the lecture's next to `history`'s."""
    epochs = min(history.epochs, reference.epochs)
    if epochs == 0:
        raise ValueError("the history has no epochs yet: train first, then compare")
    rows = [
        "| epoch | loss (lecture) | loss (this run) | accuracy (lecture) | accuracy (this run) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i in range(epochs):
        rows.append(
            f"| {i + 1} | {reference.train_loss[i]:.4f} | {history.train_loss[i]:.4f} "
            f"| {reference.train_accuracy[i]:.4f} | {history.train_accuracy[i]:.4f} |"
        )
    return "\n".join(rows)


@torch.no_grad()
def class_probabilities(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Softmax of `model`'s outputs (in eval mode) for every image, shape (N, classes)."""
    if len(images) == 0:
        raise ValueError("no images to classify: the input is empty")
    model.eval()
    return torch.cat([model(batch).softmax(dim=1) for batch in images.split(2000)])


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs: entry [i, j] is how often digit i was called j."""
    if labels.shape != predictions.shape or labels.dim() != 1:
        raise ValueError(
            f"labels and predictions must be 1-D and of the same length, got shapes "
            f"{tuple(labels.shape)} and {tuple(predictions.shape)}"
        )
    for name, values in (("labels", labels), ("predictions", predictions)):
        if len(values) and not (0 <= int(values.min()) and int(values.max()) < classes):
            raise ValueError(
                f"{name} must be class numbers from 0 to {classes - 1}, "
                f"found {int(values.min())} to {int(values.max())}"
            )
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
            axes.text(
                j,
                i,
                int(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                fontweight="bold" if i == j else "normal",
                color="white" if dark else "black",
            )
    axes.set(xticks=range(classes), yticks=range(classes), xlabel="predicted digit", ylabel="true digit", title=title)
    figure.colorbar(image, ax=axes, label="mistakes (off-diagonal count)")
    return figure


def most_confident_mistakes(probabilities: torch.Tensor, labels: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the `count` wrongly classified samples whose predicted class had the highest probability."""
    if probabilities.dim() != 2 or len(probabilities) != len(labels):
        raise ValueError(
            f"probabilities must be (N, classes) with one row per label, got shape "
            f"{tuple(probabilities.shape)} for {len(labels)} labels"
        )
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    confidence, predictions = probabilities.max(dim=1)
    wrong = torch.nonzero(predictions != labels).flatten()
    order = confidence[wrong].argsort(descending=True, stable=True)
    return wrong[order[:count]]


def plot_first_layer_weights(weight: torch.Tensor, units: int = 24) -> Figure:
    """The incoming weights of the first `units` hidden units, each drawn as a 28 x 28 image.

    Red pixels push a unit's input up, blue ones down; each image has its own
    colour scale, symmetric about zero.
    """
    if weight.dim() != 2 or weight.shape[1] != IMAGE_PIXELS:
        raise ValueError(
            f"expected the first Linear layer's weight, of shape (hidden units, {IMAGE_PIXELS}), "
            f"got {tuple(weight.shape)}"
        )
    if not 1 <= units <= weight.shape[0]:
        raise ValueError(f"units must lie between 1 and {weight.shape[0]} (the hidden units there are), got {units}")
    weights = weight[:units].detach().cpu().reshape(-1, *IMAGE_SHAPE).numpy()
    columns = 8
    rows = math.ceil(units / columns)
    figure = Figure(figsize=(1.2 * columns, 1.4 * rows + 0.5), layout="constrained")
    for unit, (axes, image) in enumerate(zip(figure.subplots(rows, columns, squeeze=False).flat, weights)):
        limit = float(abs(image).max())
        axes.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_title(f"unit {unit}", fontsize=8)
    for axes in figure.axes:
        axes.set(xticks=[], yticks=[])  # no ticks to lay out: the hidden ones cost most of the drawing time
        axes.axis("off")
    figure.suptitle(f"First-layer weights of {units} hidden units (red: positive, blue: negative)")
    return figure


# -- the exercise: one training step, written by the student ----------------------------------


def _step_problem(seed: int, leftovers: bool) -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.optim.Optimizer]:
    """A small network, a batch of 8 and plain SGD; with `leftovers`, gradients from an earlier step in `.grad`."""
    with torch.random.fork_rng(devices=[]):  # building layers draws random numbers: keep the notebook's sequence
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    images, labels = torch.randn(8, 6, generator=generator), torch.randint(0, 3, (8,), generator=generator)
    if leftovers:
        for parameter in model.parameters():
            parameter.grad = torch.randn(parameter.shape, generator=generator)
    return model, images, labels, torch.optim.SGD(model.parameters(), lr=0.1)


def _step_result(step: Callable, seed: int, leftovers: bool) -> tuple[object, torch.Tensor]:
    """What `step` returns on the problem, and every weight of the network after it, as one vector."""
    model, images, labels, optimizer = _step_problem(seed, leftovers)
    loss = step(model, images, labels, nn.CrossEntropyLoss(), optimizer)
    return loss, torch.cat([parameter.detach().flatten() for parameter in model.parameters()])


def _reference_step(model, images, labels, loss_fn, optimizer):
    loss = loss_fn(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _without_zero_grad(model, images, labels, loss_fn, optimizer):
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _without_step(model, images, labels, loss_fn, optimizer):
    loss = loss_fn(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


STEP_HINTS = {
    "general": "One step is: outputs = model(images); loss = loss_fn(outputs, labels); optimizer.zero_grad(); "
    "loss.backward(); optimizer.step(); then return the loss (a number, or its one-element tensor).",
    "no step": "The weights did not move: after loss.backward() call optimizer.step(), which applies the gradients "
    "(and call optimizer.zero_grad() before backward, not between backward and step).",
    "no zero_grad": "The gradients left in .grad from the previous step were added to the new ones: "
    "call optimizer.zero_grad() before loss.backward(), because backward adds to .grad instead of replacing it.",
}


def training_step_cases() -> list[Case]:
    """The checks of `check_training_step`: a fresh network, then one that holds an earlier step's gradients."""
    cases = []
    for name, seed, leftovers in (
        ("a fresh network", 0, False),
        ("a network whose .grad still holds the previous step's gradients", 1, True),
    ):
        cases.append(
            Case(
                name,
                lambda answer, seed=seed, leftovers=leftovers: _step_result(answer, seed, leftovers),
                _step_result(_reference_step, seed, leftovers),
                STEP_HINTS["general"],
                mistakes=(
                    (_step_result(_without_step, seed, leftovers), STEP_HINTS["no step"]),
                    (_step_result(_without_zero_grad, seed, leftovers), STEP_HINTS["no zero_grad"]),
                ),
            )
        )
    return cases


def check_training_step(answer: Callable) -> Feedback:
    """Feedback on `answer(model, images, labels, loss_fn, optimizer) -> loss`, one step of mini-batch training.

    It must return the batch's loss (computed before the update) and leave the
    weights as one step of `optimizer` with fresh gradients leaves them.
    """
    return check_cases("my_training_step", answer, training_step_cases())
