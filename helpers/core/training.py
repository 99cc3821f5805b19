"""The one training loop of the course, its one evaluation, and the named results they return.

`train_batches` (one epoch), `evaluate_batches` (one test pass) and `fit` (epochs of
training with a validation set) are written out in notebook 07, *Classifying digits*,
and kept identical to these by `tests/test_shown_code.py`. Mini-batches come from a
`DataLoader` or, for data held in memory as two tensors, from `tensor_batches`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from helpers.core.checks import check_pairs, check_positive_int, checked

if TYPE_CHECKING:
    from helpers.core.diagnostics import LayerMonitor


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

    def record(self, trained: Evaluation, validated: Evaluation | None = None) -> None:
        """Append one epoch: what training saw and, if measured, the validation result."""
        self.train_loss.append(trained.loss)
        self.train_accuracy.append(trained.accuracy)
        if validated is not None:
            self.val_loss.append(validated.loss)
            self.val_accuracy.append(validated.accuracy)


@dataclass
class Run:
    """One training run: the trained model, its `History`, a label and, if it was monitored, its `LayerMonitor`."""

    model: nn.Module
    history: History
    label: str = ""
    monitor: LayerMonitor | None = None


def tensor_batches(
    images: Tensor, labels: Tensor, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """`(images, labels)` mini-batches of `batch_size` (the last may be smaller), taken by index from two tensors.

    With `shuffle`, the order is `torch.randperm` drawn from `generator`: the order a shuffling
    `DataLoader` uses, given the same generator.
    """
    check_pairs(images, labels)
    check_positive_int("batch_size", batch_size)
    order = torch.randperm(len(labels), generator=generator) if shuffle else torch.arange(len(labels))
    for index in order.split(batch_size):
        yield images[index], labels[index]


def train_batches(model, batches, optimizer, *, loss_fn=nn.functional.cross_entropy, device=None):
    """One epoch of mini-batch gradient descent; returns the mean loss and accuracy seen while training.

    Each batch is moved to `device` first, if one is given. A loss that is not a
    finite number stops training with an error: the weights have diverged.
    """
    model.train()  # training mode: batch norm uses each batch's own statistics, dropout drops
    total_loss, correct, count = 0.0, 0, 0
    for inputs, labels in batches:
        if device is not None:
            inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)  # forward pass: one row of 10 scores per image
        loss = loss_fn(outputs, labels)  # the batch's mean loss
        if not torch.isfinite(loss):  # inf or nan: every later step would only spread it through the weights
            raise FloatingPointError(f"the loss became {loss.item()} after {count} samples: lower the learning rate")
        optimizer.zero_grad()  # clear the gradients left by the previous step
        loss.backward()  # back-propagate: the gradient of the loss for every weight
        optimizer.step()  # update the weights with those gradients
        total_loss += loss.item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
        count += len(labels)
    return Evaluation(total_loss / count, correct / count)


@torch.no_grad()
def evaluate_batches(model, batches, *, loss_fn=nn.functional.cross_entropy, device=None):
    """Mean loss and accuracy of `model`, in evaluation mode, over every batch."""
    model.eval()  # evaluation mode: batch norm uses its running statistics, dropout keeps every unit
    total_loss, correct, count = 0.0, 0, 0
    for inputs, labels in batches:
        if device is not None:
            inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)
        total_loss += loss_fn(outputs, labels).item() * len(labels)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
        count += len(labels)
    return Evaluation(total_loss / count, correct / count)


def evaluate(model: nn.Module, images: Tensor, labels: Tensor) -> Evaluation:
    """Mean loss and accuracy of `model`, in evaluation mode, on a whole dataset held in memory."""
    return evaluate_batches(model, tensor_batches(images, labels, 2000, shuffle=False))


def check_fit(model, train, *, epochs, val, on_epoch, **_) -> None:
    """`fit`'s arguments: a whole number of epochs, data that pairs up, a progress display made for `epochs`."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_positive_int("epochs", epochs)
    for name, data in (("train", train), ("val", val)):
        if data is not None and (not isinstance(data, (tuple, list)) or len(data) != 2):
            raise ValueError(f"{name} must be a pair (images, labels) of tensors, got {type(data).__name__}")
        if data is not None:
            check_pairs(*data)
    shown = getattr(on_epoch, "epochs", None)  # a TrainingProgress knows how many epochs it shows
    if shown is not None and shown != epochs:
        raise ValueError(
            f"the progress display was made for {shown} epochs but training runs {epochs}: "
            "give both the same number, for example one variable passed to each"
        )


@checked(check_fit)
def fit(model, train, *, epochs, optimizer=None, val=None, batch_size=100, seed=0, augment=None, on_epoch=None):
    """Train `model` for `epochs` epochs on `train`, two tensors held in memory, and return its `History`.

    Without an `optimizer`, Adam with its default settings. A generator seeded with
    `seed` shuffles the mini-batches, so their order repeats from run to run.
    `augment`, if given, changes the training images at random, afresh every epoch.
    After each epoch `val` (if given) is evaluated and `on_epoch(epoch, history)` called.
    """
    optimizer = optimizer or torch.optim.Adam(model.parameters())
    generator = torch.Generator().manual_seed(seed)  # the order of the mini-batches, epoch after epoch
    images, labels = train
    history = History()
    for epoch in range(1, epochs + 1):
        inputs = augment(images) if augment else images
        batches = tensor_batches(inputs, labels, batch_size, shuffle=True, generator=generator)
        trained = train_batches(model, batches, optimizer)
        history.record(trained, evaluate(model, *val) if val is not None else None)
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history
