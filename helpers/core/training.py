"""The one training loop of the course, its one evaluation, and the named results they return.

Mini-batches come either from a `DataLoader` (the lecture's way) or, for data held in
memory as two tensors, by index (`tensor_batches`): the same mathematics, many times
faster on a CPU. `train_batches` is the loop over one epoch of mini-batches,
`evaluate_batches` the evaluation; `fit` runs epochs of them over tensors, seeded
through its own `torch.Generator` so that the order of mini-batches repeats exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from helpers.core.checks import check_pairs

if TYPE_CHECKING:
    from helpers.core.diagnostics import LayerMonitor

LossFunction = Callable[[Tensor, Tensor], Tensor]
Batches = Iterable[tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class Evaluation:
    """Mean loss and accuracy of a model over a dataset (or over one epoch of training)."""

    loss: float
    accuracy: float


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


@dataclass
class Run:
    """One training run: the trained model, its `History`, a label and, if it was monitored, its `LayerMonitor`."""

    model: nn.Module
    history: History
    label: str = ""
    monitor: LayerMonitor | None = None


def minibatches(
    size: int, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[Tensor]:
    """Index tensors that cover `range(size)` in batches of `batch_size` (the last may be smaller)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(size, generator=generator) if shuffle else torch.arange(size)
    yield from order.split(batch_size)


def tensor_batches(
    images: Tensor, labels: Tensor, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """`(inputs, labels)` mini-batches taken by index from two tensors held in memory."""
    check_pairs(images, labels)
    for index in minibatches(len(labels), batch_size, shuffle=shuffle, generator=generator):
        yield images[index], labels[index]


def train_batches(model, batches, optimizer, *, loss_fn=nn.functional.cross_entropy, device=None):
    """One epoch of mini-batch gradient descent; returns the mean loss and accuracy seen while training.

    Each batch is moved to `device` first, if one is given.
    """
    model.train()  # training mode: batch norm uses each batch's own statistics, dropout drops
    total_loss, correct, count = 0.0, 0, 0
    for inputs, labels in batches:
        if device is not None:
            inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)  # forward pass: one row of 10 scores per image
        loss = loss_fn(outputs, labels)  # the batch's mean loss
        optimizer.zero_grad()  # clear the gradients left by the previous step
        loss.backward()  # back-propagate: the gradient of the loss for every weight
        optimizer.step()  # update the weights with those gradients
        total_loss += loss.item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
        count += len(labels)
    return Evaluation(total_loss / count, correct / count)


@torch.no_grad()
def evaluate_batches(model, batches, *, loss_fn=nn.functional.cross_entropy, device=None, train_mode=False):
    """Mean loss and accuracy of `model` over every batch, in eval mode (or, with `train_mode`, training mode)."""
    model.eval()  # evaluation mode: batch norm uses its running statistics, dropout keeps every unit
    if train_mode:
        model.train()  # only for experiments that measure a model left in training mode
    total_loss, correct, count = 0.0, 0, 0
    for inputs, labels in batches:
        if device is not None:
            inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)
        total_loss += loss_fn(outputs, labels).item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
        count += len(labels)
    return Evaluation(total_loss / count, correct / count)


def evaluate(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    batch_size: int = 2000,
    train_mode: bool = False,
) -> Evaluation:
    """Mean loss and accuracy of `model` (put in eval mode unless `train_mode`) on a whole dataset."""
    batches = tensor_batches(images, labels, batch_size, shuffle=False)
    return evaluate_batches(model, batches, loss_fn=loss_fn, train_mode=train_mode)


def train_epoch(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    batch_size: int = 100,
    generator: torch.Generator | None = None,
) -> Evaluation:
    """One pass over tensors in shuffled mini-batches; returns mean loss and accuracy seen while training."""
    batches = tensor_batches(images, labels, batch_size, shuffle=True, generator=generator)
    return train_batches(model, batches, optimizer, loss_fn=loss_fn)


def run_epochs(
    train_one_epoch: Callable[[int], Evaluation],
    epochs: int,
    *,
    validate: Callable[[], Evaluation] | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """The epoch loop every training recipe shares, returning the `History` it records.

    For epochs 1 to `epochs`: `train_one_epoch(epoch)` returns the epoch's
    `Evaluation`, `validate()` (if given) that on held-out data, and then
    `on_epoch(epoch, history)` is called, for progress output or live plots. An
    `on_epoch` that announces how many epochs it shows (an `epochs` attribute,
    as `helpers.core.progress.TrainingProgress` has) must agree with `epochs`.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    shown = getattr(on_epoch, "epochs", None)
    if shown is not None and shown != epochs:
        raise ValueError(
            f"the progress display was made for {shown} epochs but training runs {epochs}: "
            "give both the same number, for example one variable passed to each"
        )
    history = History()
    for epoch in range(1, epochs + 1):
        trained = train_one_epoch(epoch)
        history.train_loss.append(trained.loss)
        history.train_accuracy.append(trained.accuracy)
        if validate is not None:
            validated = validate()
            history.val_loss.append(validated.loss)
            history.val_accuracy.append(validated.accuracy)
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history


def fit(
    model: nn.Module,
    train: tuple[Tensor, Tensor],
    *,
    epochs: int,
    val: tuple[Tensor, Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    batch_size: int = 100,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    seed: int = 0,
    shuffle: Callable[[], torch.Generator] | None = None,
    augment: Callable[[Tensor], Tensor] | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Train `model` for `epochs` epochs on tensors held in memory and return its `History`.

    The data must already be on the model's device. Without an `optimizer`,
    Adam with learning rate `lr` is used. Mini-batches are shuffled by a generator
    seeded with `seed`, or, if `shuffle` is given, by a fresh `shuffle()` every epoch.
    `augment`, if given, maps the training inputs to a randomly changed copy, drawn
    afresh at the start of every epoch; validation data is used as given.
    `on_epoch(epoch, history)` is called after each epoch (epochs count from 1),
    for progress output, live plots or extra measurements.
    """
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = train
    return run_epochs(
        lambda _epoch: train_epoch(
            model,
            augment(inputs) if augment else inputs,
            labels,
            optimizer,
            loss_fn=loss_fn,
            batch_size=batch_size,
            generator=shuffle() if shuffle else generator,
        ),
        epochs,
        validate=None if val is None else lambda: evaluate(model, *val, loss_fn=loss_fn),
        on_epoch=on_epoch,
    )
