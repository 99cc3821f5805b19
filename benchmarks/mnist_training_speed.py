"""Train the lecture's MNIST MLP three ways in one process and compare speed and test accuracy.

    python benchmarks/mnist_training_speed.py                  # 20 epochs, on the CPU and on CUDA if present
    python benchmarks/mnist_training_speed.py --epochs 3 --device cpu --threads 1
    python benchmarks/mnist_training_speed.py --epochs 1 --train-images 6000   # a quick check that it works

1. The lecture's recipe (the baseline): `ToTensor()` and flattening per image,
   a shuffling `DataLoader` with batches of 100, each batch moved to the device.
2. The tensor path: the whole training set held as one tensor on the device,
   mini-batches taken by index in the `DataLoader`'s order, the same training loop
   (`train_batches` from `helpers.core.training`, the loop notebook 07 shows).
3. The same tensor path with `torch.optim.Adam(fused=True)`: one call updates every
   parameter tensor, instead of several small operations per tensor.

All start from the same initial weights (seed 1234), see the same mini-batches in
the same order and train with Adam for the same number of epochs. The DataLoader and
the tensor path compute the very same updates: the script checks that their
training histories are identical and fails if they are not. Fused Adam adds its
numbers up in another order, so its results agree to rounding and its accuracy is
compared. The one-off cost of loading the tensors is reported separately. The load
average is printed before and after, because other work on the machine slows every
recipe; compare the speed-ups, which are measured in one process, rather than
absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Subset
from torchvision.transforms import Compose, Lambda, ToTensor

from helpers.core.data import mnist
from helpers.core.device import DeviceUnavailableError, pick_device
from helpers.core.models import mlp
from helpers.core.seeding import seed_everything
from helpers.core.timing import timed
from helpers.core.training import History, evaluate, tensor_batches, train_batches
from helpers.lessons.classifying_digits import LECTURE_LAYERS, LECTURE_SEED, flat_mnist, loader_shuffle_generator

BATCH_SIZE = 100  # the lecture's
MNIST_TRAIN_IMAGES = 60_000  # the size of MNIST's training split


@dataclass(frozen=True)
class Timing:
    """How long `epochs` passes over `samples` training samples took, and the test accuracy reached."""

    name: str
    epochs: int
    samples: int
    seconds: float
    cpu_seconds: float
    test_accuracy: float

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / self.epochs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs per recipe (default: the lecture's 20)")
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:N or mps (default: the CPU, and CUDA too when present)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for PyTorch (default: PyTorch's own choice)"
    )
    parser.add_argument(
        "--train-images",
        type=int,
        default=MNIST_TRAIN_IMAGES,
        help="train on the first N training images (default: all 60000); fewer make a quick check, not a benchmark",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if not BATCH_SIZE <= args.train_images <= MNIST_TRAIN_IMAGES:
        parser.error(f"--train-images must lie between {BATCH_SIZE} and {MNIST_TRAIN_IMAGES}, got {args.train_images}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    try:
        args.device = None if args.device is None else pick_device(args.device)
    except DeviceUnavailableError as error:
        parser.error(str(error))
    args.devices = (
        [args.device]
        if args.device
        else [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    )
    return args


def train_timed(name: str, model, epochs: int, batches: Callable[[], Iterable], optimizer, device):
    """`epochs` passes of `train_batches` over `batches()`, one line printed per epoch.

    Returns the `History`, the wall-clock seconds (queued GPU work included) and this process's processor seconds.
    """

    def train() -> History:
        history = History()
        for epoch in range(1, epochs + 1):
            history.record(train_batches(model, batches(), optimizer, device=device))
            print(
                f"  {name} epoch {epoch}: loss {history.train_loss[-1]:.4f} accuracy {history.train_accuracy[-1]:.4f}"
            )
        return history

    start = time.process_time()
    history, seconds = timed(train, device)
    return history, seconds, time.process_time() - start


class DifferentWork(RuntimeError):
    """The DataLoader and the tensor path did not compute the same updates, so their timings compare different work."""


def measure(device: torch.device, epochs: int, train_images: int) -> list[Timing]:
    """Time the three recipes on `device`, each from the lecture's seed, on the first `train_images` images.

    Raises `DifferentWork` if the DataLoader and the tensor path train differently.
    """
    to_vector = Compose([ToTensor(), Lambda(torch.flatten)])  # the lecture's transforms
    train_set = Subset(mnist(train=True, transform=to_vector), range(train_images))
    train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    (train, test), load_seconds = timed(lambda: (flat_mnist(True, device), flat_mnist(False, device)), device)
    train = train[0][:train_images], train[1][:train_images]
    print(f"  loading both splits as tensors on {device} took {load_seconds:.1f} s once")

    def in_loader_order():
        return tensor_batches(*train, BATCH_SIZE, shuffle=True, generator=loader_shuffle_generator())

    recipes = {
        "DataLoader (lecture)": (lambda: train_loader, {}),
        "tensor path": (in_loader_order, {}),
        "tensor path, fused Adam": (in_loader_order, {"fused": True}),
    }
    timings, histories = [], []
    for name, (batches, adam_options) in recipes.items():
        seed_everything(LECTURE_SEED)  # the same initial weights and shuffling for every recipe
        model = mlp(LECTURE_LAYERS, batch_norm=True, flatten=False).to(device)
        optimizer = torch.optim.Adam(model.parameters(), **adam_options)
        label = f"{name}, {device.type}"
        history, seconds, cpu_seconds = train_timed(label, model, epochs, batches, optimizer, device)
        accuracy = evaluate(model, *test).accuracy  # the same 10,000 test images, whichever way training read them
        timings.append(Timing(label, epochs, train_images, seconds, cpu_seconds, accuracy))
        histories.append(history)
    print(f"  identical training history, DataLoader and tensor path: {histories[0] == histories[1]}")
    if histories[0] != histories[1]:
        raise DifferentWork(f"on {device} the DataLoader and the tensor path trained differently")
    return timings


def speed_report(timings: list[Timing]) -> str:
    """A Markdown table of the timings, with each one's speed-up over the first recipe on its device."""
    rows = [
        "| recipe | epochs | s / epoch | CPU s / epoch | speed-up | test accuracy |",
        "|:---|---:|---:|---:|---:|---:|",
    ]
    baseline = timings[0]
    for timing in timings:
        if timing.name.startswith("DataLoader"):
            baseline = timing
        rows.append(
            f"| {timing.name} | {timing.epochs} | {timing.seconds_per_epoch:.2f} | "
            f"{timing.cpu_seconds / timing.epochs:.2f} | {baseline.seconds / timing.seconds:.1f}x | "
            f"{timing.test_accuracy:.4f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {args.epochs} epochs per recipe "
        f"on {args.train_images} training images, devices: {', '.join(str(device) for device in args.devices)}"
    )
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    try:
        timings = [timing for device in args.devices for timing in measure(device, args.epochs, args.train_images)]
    except DifferentWork as error:
        print(f"{error}: the timings would compare different work.", file=sys.stderr)
        return 1
    print("load average (1, 5, 15 min) after:  {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    print(speed_report(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
