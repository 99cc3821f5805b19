"""A small, explicit training loop over tensors held in memory.

MNIST (and every subset of it the notebooks use) fits in memory, so mini-batches
are taken by index from two tensors instead of through a `DataLoader`: the same
mathematics, many times faster on a CPU. The loop is seeded through its own
`torch.Generator`, so the order of mini-batches repeats exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch loss and accuracy on the training set and, if given, a validation set."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def minibatches(size: int, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Index tensors that cover `range(size)` in batches of `batch_size` (the last may be smaller)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(size, generator=generator) if shuffle else torch.arange(size)
    yield from order.split(batch_size)


def _check_data(images: torch.Tensor, labels: torch.Tensor) -> None:
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} inputs but {len(labels)} labels: they must pair up one to one")
    if len(images) == 0:
        raise ValueError("no data: the inputs are empty")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    batch_size: int = 2000,
) -> tuple[float, float]:
    """Mean loss and accuracy of `model` (put in eval mode) on a whole dataset."""
    _check_data(images, labels)
    model.eval()
    total_loss, correct = 0.0, 0
    for index in minibatches(len(labels), batch_size, shuffle=False):
        outputs = model(images[index])
        total_loss += loss_fn(outputs, labels[index]).item() * len(index)
        correct += (outputs.argmax(dim=1) == labels[index]).sum().item()
    return total_loss / len(labels), correct / len(labels)


def train_epoch(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    batch_size: int = 100,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """One pass over the data in shuffled mini-batches; returns mean loss and accuracy seen while training."""
    _check_data(images, labels)
    model.train()
    total_loss, correct = 0.0, 0
    for index in minibatches(len(labels), batch_size, shuffle=True, generator=generator):
        outputs = model(images[index])
        loss = loss_fn(outputs, labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(index)
        correct += (outputs.argmax(dim=1) == labels[index]).sum().item()
    return total_loss / len(labels), correct / len(labels)


def run_epochs(
    train_one_epoch: Callable[[int], tuple[float, float]],
    epochs: int,
    *,
    validate: Callable[[], tuple[float, float]] | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """The epoch loop every training recipe shares, returning the `History` it records.

    For epochs 1 to `epochs`: `train_one_epoch(epoch)` returns the epoch's loss
    and accuracy, `validate()` (if given) those on held-out data, and then
    `on_epoch(epoch, history)` is called, for progress output or live plots. An
    `on_epoch` that announces how many epochs it shows (an `epochs` attribute,
    as `helpers.progress.TrainingProgress` has) must agree with `epochs`.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    shown = getattr(on_epoch, "epochs", None)
    if shown is not None and shown != epochs:
        raise ValueError(f"the progress display was made for {shown} epochs but training runs {epochs}: "
                         "give both the same number, for example one variable passed to each")
    history = History()
    for epoch in range(1, epochs + 1):
        loss, accuracy = train_one_epoch(epoch)
        history.train_loss.append(loss)
        history.train_accuracy.append(accuracy)
        if validate is not None:
            loss, accuracy = validate()
            history.val_loss.append(loss)
            history.val_accuracy.append(accuracy)
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    batch_size: int = 100,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    seed: int = 0,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Train `model` for `epochs` epochs and return its `History`.

    The data must already be on the model's device. Without an `optimizer`,
    Adam with learning rate `lr` is used. `augment`, if given, maps the training
    inputs to a randomly changed copy, drawn afresh at the start of every epoch
    (see `helpers.augmentation.per_image`); validation data is used as given.
    `on_epoch(epoch, history)` is called after each epoch (epochs count from 1),
    for progress output or live plots.
    """
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = train
    return run_epochs(
        lambda _epoch: train_epoch(
            model, augment(inputs) if augment else inputs, labels, optimizer,
            loss_fn=loss_fn, batch_size=batch_size, generator=generator,
        ),
        epochs,
        validate=None if val is None else lambda: evaluate(model, *val, loss_fn=loss_fn),
        on_epoch=on_epoch,
    )
