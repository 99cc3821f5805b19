"""The lecture's worked example: MNIST through a `DataLoader` into a 784-100-10 MLP.

Everything here follows the lecture's recipe: `ToTensor()` and flattening applied
to one image at a time, mini-batches of 100 from a shuffling `DataLoader`, a
hidden layer of 100 units with batch normalisation, cross-entropy and Adam. The
loops mirror `helpers.core.training.train_epoch` and `evaluate`, which do the same
on tensors held in memory; `fit_in_loader_order` runs that faster loop in the
DataLoader's shuffling order, so only the way a mini-batch is assembled differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import Compose, Lambda, ToTensor

from helpers.core.data import mnist, mnist_tensors
from helpers.core.training import History, LossFunction, run_epochs, train_epoch

LECTURE_SEED = 1234
LECTURE_BATCH_SIZE = 100
LECTURE_EPOCHS = 20
IMAGE_SIZE = 28 * 28

# The per-epoch training loss and accuracy, and the test result, published in the lecture notes.
LECTURE_HISTORY = History(
    train_loss=[0.3272, 0.1421, 0.0999, 0.0760, 0.0611, 0.0496, 0.0422, 0.0359, 0.0310, 0.0265,
                0.0226, 0.0200, 0.0183, 0.0175, 0.0160, 0.0130, 0.0130, 0.0105, 0.0104, 0.0104],
    train_accuracy=[0.9175, 0.9604, 0.9721, 0.9790, 0.9828, 0.9861, 0.9879, 0.9898, 0.9914, 0.9928,
                    0.9937, 0.9947, 0.9948, 0.9952, 0.9957, 0.9967, 0.9964, 0.9975, 0.9973, 0.9973],
)
LECTURE_TEST_LOSS = 0.0882
LECTURE_TEST_ACCURACY = 0.9774

Batches = Callable[[Iterable, int], Iterable]


def flatten_image(image: torch.Tensor) -> torch.Tensor:
    """A (1, 28, 28) image tensor as a vector of 784 pixels."""
    return torch.flatten(image)


def lecture_datasets() -> tuple[Dataset, Dataset]:
    """MNIST's training and test sets, each image turned into 784 floats in [0, 1] when it is read."""
    transform = Compose([ToTensor(), Lambda(flatten_image)])
    return mnist(train=True, transform=transform), mnist(train=False, transform=transform)


def lecture_loaders(batch_size: int = LECTURE_BATCH_SIZE) -> tuple[DataLoader, DataLoader]:
    """DataLoaders over `lecture_datasets()`: shuffled mini-batches for training, in order for testing."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    train, test = lecture_datasets()
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(test, batch_size=batch_size)


def lecture_mlp(hidden_units: int = 100, classes: int = 10) -> nn.Sequential:
    """The lecture's network: Linear(784, hidden) -> BatchNorm1d -> ReLU -> Linear(hidden, classes)."""
    for name, value in (("hidden_units", hidden_units), ("classes", classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return nn.Sequential(
        nn.Linear(IMAGE_SIZE, hidden_units),
        nn.BatchNorm1d(hidden_units),
        nn.ReLU(),
        nn.Linear(hidden_units, classes),
    )


def _check_loader(loader: DataLoader) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(f"expected a torch DataLoader, got {type(loader).__name__}; "
                        "for tensors held in memory use helpers.core.training instead")
    if len(loader.dataset) == 0:
        raise ValueError("the DataLoader's dataset is empty")


def train_epoch_with_loader(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device | str = "cpu",
    loss_fn: LossFunction = nn.functional.cross_entropy,
    batches: Batches | None = None,
    epoch: int = 1,
) -> tuple[float, float]:
    """One pass over `loader`, moving each mini-batch to `device`; returns mean loss and accuracy.

    `batches(loader, epoch)` may wrap the loader, for example in a progress bar.
    """
    _check_loader(loader)
    model.train()
    total_loss, correct = 0.0, 0
    for inputs, labels in batches(loader, epoch) if batches else loader:
        inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)
        loss = loss_fn(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


@torch.no_grad()
def evaluate_with_loader(
    model: nn.Module,
    loader: DataLoader,
    *,
    device: torch.device | str = "cpu",
    loss_fn: LossFunction = nn.functional.cross_entropy,
) -> tuple[float, float]:
    """Mean loss and accuracy of `model` (put in eval mode) over every batch of `loader`."""
    _check_loader(loader)
    model.eval()
    total_loss, correct = 0.0, 0
    for inputs, labels in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)
        total_loss += loss_fn(outputs, labels).item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
    return total_loss / len(loader.dataset), correct / len(loader.dataset)


def fit_with_loader(
    model: nn.Module,
    loader: DataLoader,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
    batches: Batches | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Train for `epochs` passes over `loader`, as the lecture does; returns the training `History`.

    `batches` and `on_epoch` take a `helpers.core.progress.TrainingProgress`'s
    `batches` method and the progress object itself.
    """
    return run_epochs(
        lambda epoch: train_epoch_with_loader(
            model, loader, optimizer, device=device, batches=batches, epoch=epoch
        ),
        epochs,
        on_epoch=on_epoch,
    )


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


def fit_in_loader_order(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int = LECTURE_BATCH_SIZE,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """`helpers.core.training.train_epoch` on tensors held in memory, in the lecture DataLoader's batch order.

    Seeded as the lecture seeds, this gives the numbers `fit_with_loader` gives,
    without reading and transforming one image at a time.
    """
    return run_epochs(
        lambda epoch: train_epoch(
            model, *train, optimizer, batch_size=batch_size, generator=loader_shuffle_generator()
        ),
        epochs,
        on_epoch=on_epoch,
    )


def flat_mnist(train: bool, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """A whole MNIST split as one (N, 784) float tensor and one (N,) label tensor on `device`.

    The pixel values are exactly those `lecture_datasets()` produce one image at a time.
    """
    images, labels = mnist_tensors(train=train)
    return images.flatten(start_dim=1).to(device), labels.to(device)


def train_val_split(
    images: torch.Tensor, labels: torch.Tensor, *, val_size: int, seed: int = LECTURE_SEED
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split a training set at random into (train, validation) pairs, `val_size` samples for validation."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: they must pair up one to one")
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
