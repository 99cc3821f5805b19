"""Train the lecture's MNIST MLP three ways in one process and compare speed and test accuracy.

    python benchmarks/mnist_training_speed.py                  # 20 epochs, on the CPU and on CUDA if present
    python benchmarks/mnist_training_speed.py --epochs 3 --device cpu --threads 1
    python benchmarks/mnist_training_speed.py --epochs 1 --train-images 6000   # a quick check that it works

1. The lecture's recipe (the baseline): `ToTensor()` and flattening per image,
   a shuffling `DataLoader` with batches of 100, each batch moved to the device.
2. The tensor path: the whole training set held as one tensor on the device,
   mini-batches taken by index, autograd and `torch.optim.Adam`
   (`fit_in_loader_order` from `helpers.lessons.classifying_digits`, built on `helpers.core.training`).
3. The fast path: a hand-derived backward pass, fused Adam, one gather per
   epoch, no read-back per step, and on CUDA a captured step
   (`fit_fast`, in the same lesson module).

All start from the same initial weights (seed 1234), see the same mini-batches
in the same order and train with Adam for the same number of epochs. The
DataLoader and the tensor path compute the very same updates: the script checks
that their training histories are identical and fails if they are not. The fast
path computes the same mathematics in another order of float operations, so its
numbers agree to rounding and its accuracy is compared. The one-off cost of
loading the tensors is reported separately. The load average is printed before and after, because
other work on the machine slows every recipe; compare the speed-ups, which are
measured in one process, rather than absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, Subset

from helpers.core.device import DeviceUnavailableError, pick_device
from helpers.core.models import mlp
from helpers.core.seeding import seed_everything
from helpers.core.timing import Timing, speed_report, timed
from helpers.core.training import History, evaluate
from helpers.lessons.classifying_digits import (
    LECTURE_BATCH_SIZE,
    LECTURE_EPOCHS,
    LECTURE_LAYERS,
    LECTURE_SEED,
    evaluate_with_loader,
    fit_fast,
    fit_in_loader_order,
    fit_with_loader,
    flat_mnist,
    lecture_loaders,
    loader_shuffle_generator,
)

MNIST_TRAIN_IMAGES = 60_000  # the size of MNIST's training split


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=LECTURE_EPOCHS, help="epochs per recipe (default: 20)")
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
    if not LECTURE_BATCH_SIZE <= args.train_images <= MNIST_TRAIN_IMAGES:
        parser.error(
            f"--train-images must lie between {LECTURE_BATCH_SIZE} and {MNIST_TRAIN_IMAGES}, got {args.train_images}"
        )
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


def print_epoch(name: str):
    """An `on_epoch` callback printing one line per epoch (no progress bar: it would draw from the RNG)."""

    def on_epoch(epoch: int, history: History) -> None:
        print(
            f"  {name} epoch {epoch}: train loss {history.train_loss[-1]:.4f} "
            f"accuracy {history.train_accuracy[-1]:.4f}",
            flush=True,
        )

    return on_epoch


def timed_with_cpu(run, device: torch.device, cpu_seconds: list[float]):
    """`timed(run, device)`, appending the processor time this process spent on it to `cpu_seconds`."""
    start = time.process_time()
    result = timed(run, device)
    cpu_seconds.append(time.process_time() - start)
    return result


class DifferentWork(RuntimeError):
    """The DataLoader and the tensor path did not compute the same updates, so their timings compare different work."""


def measure(device: torch.device, epochs: int, cpu_seconds: list[float], train_images: int) -> list[Timing]:
    """Time the three recipes on `device`, each from the lecture's seed; processor times go to `cpu_seconds`.

    Each trains on the first `train_images` training images. Raises `DifferentWork`
    if the DataLoader and the tensor path train differently.
    """
    seed_everything(LECTURE_SEED)
    model = mlp(LECTURE_LAYERS, batch_norm=True, flatten=False).to(device)
    train_loader, test_loader = lecture_loaders()
    if train_images < len(train_loader.dataset):  # the same loader, over the first images only
        train_loader = DataLoader(
            Subset(train_loader.dataset, range(train_images)), batch_size=LECTURE_BATCH_SIZE, shuffle=True
        )
    loader_history, seconds = timed_with_cpu(
        lambda: fit_with_loader(
            model,
            train_loader,
            epochs=epochs,
            optimizer=torch.optim.Adam(model.parameters()),
            device=device,
            on_epoch=print_epoch(f"{device.type} DataLoader"),
        ),
        device,
        cpu_seconds,
    )
    samples = len(train_loader.dataset)
    timings = [
        Timing(
            f"DataLoader (lecture), {device.type}",
            epochs,
            samples,
            seconds,
            evaluate_with_loader(model, test_loader, device=device).accuracy,
        )
    ]

    (train, test), load_seconds = timed(lambda: (flat_mnist(True, device), flat_mnist(False, device)), device)
    train = train[0][:train_images], train[1][:train_images]
    print(f"  loading both splits as tensors on {device} took {load_seconds:.1f} s once")
    seed_everything(LECTURE_SEED)  # the same initial weights and shuffling as the first recipe
    model = mlp(LECTURE_LAYERS, batch_norm=True, flatten=False).to(device)
    tensor_history, seconds = timed_with_cpu(
        lambda: fit_in_loader_order(
            model,
            train,
            epochs=epochs,
            optimizer=torch.optim.Adam(model.parameters()),
            on_epoch=print_epoch(f"{device.type} tensor path"),
        ),
        device,
        cpu_seconds,
    )
    timings.append(Timing(f"tensor path, {device.type}", epochs, samples, seconds, evaluate(model, *test).accuracy))
    print(
        f"  epoch 1 training loss {loader_history.train_loss[0]:.4f} (DataLoader) vs "
        f"{tensor_history.train_loss[0]:.4f} (tensor path); identical training history: "
        f"{loader_history == tensor_history}"
    )
    if loader_history != tensor_history:
        raise DifferentWork(f"on {device} the DataLoader and the tensor path trained differently")

    seed_everything(LECTURE_SEED)
    model = mlp(LECTURE_LAYERS, batch_norm=True, flatten=False).to(device)
    _, seconds = timed_with_cpu(
        lambda: fit_fast(
            model,
            train,
            epochs=epochs,
            shuffle=loader_shuffle_generator,
            on_epoch=print_epoch(f"{device.type} fast path"),
        ),
        device,
        cpu_seconds,
    )
    timings.append(Timing(f"fast path, {device.type}", epochs, samples, seconds, evaluate(model, *test).accuracy))
    return timings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {args.epochs} epochs per recipe "
        f"on {args.train_images} training images, "
        f"devices: {', '.join(str(device) for device in args.devices)}"
    )
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    cpu_seconds: list[float] = []
    try:
        timings = [
            timing for device in args.devices for timing in measure(device, args.epochs, cpu_seconds, args.train_images)
        ]
    except DifferentWork as error:
        print(f"{error}: the timings would compare different work.", file=sys.stderr)
        return 1
    print("load average (1, 5, 15 min) after:  {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    print(speed_report(timings))
    print("\nProcessor time of this process per epoch (less affected by other work on the machine):")
    for timing, cpu in zip(timings, cpu_seconds):
        print(f"  {timing.name}: {cpu / timing.epochs:.2f} s, {cpu_seconds[0] / cpu:.1f}x less than the first recipe")
    print()
    for baseline, tensor, fast in zip(timings[::3], timings[1::3], timings[2::3]):
        for timing in (tensor, fast):
            print(
                f"{timing.name}: {baseline.seconds_per_epoch / timing.seconds_per_epoch:.1f}x faster than "
                f"the DataLoader on the same device; test accuracy {timing.test_accuracy:.4f} vs "
                f"{baseline.test_accuracy:.4f} ({100 * (timing.test_accuracy - baseline.test_accuracy):+.2f} points)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
