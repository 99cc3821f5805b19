"""Train the lecture's MNIST MLP two ways in one process and compare speed and test accuracy.

    python benchmarks/mnist_training_speed.py                  # 20 epochs on the device found
    python benchmarks/mnist_training_speed.py --epochs 3 --device cpu

1. The lecture's recipe: `ToTensor()` and flattening per image, a shuffling
   `DataLoader` with batches of 100, each batch moved to the device.
2. The whole training set held as one tensor on the device, mini-batches taken
   by index (`helpers.lessons.classifying_digits.fit_in_loader_order`, built on `helpers.core.training.fit`).

Both start from the same initial weights (seed 1234), see the same mini-batches
in the same order and train with Adam for the same number of epochs, so they
reach the same training history: the script checks that at the end and fails
if they do not. The one-off cost of loading the tensors is reported separately.
"""

from __future__ import annotations

import argparse
import sys

import torch

from helpers.core.device import DeviceUnavailableError, pick_device
from helpers.core.models import mlp
from helpers.core.progress import TrainingProgress
from helpers.core.seeding import seed_everything
from helpers.core.timing import Timing, speed_report, timed
from helpers.core.training import evaluate
from helpers.lessons.classifying_digits import (
    LECTURE_EPOCHS,
    LECTURE_LAYERS,
    LECTURE_SEED,
    evaluate_with_loader,
    fit_in_loader_order,
    fit_with_loader,
    flat_mnist,
    lecture_loaders,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=LECTURE_EPOCHS, help="epochs per recipe (default: 20)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best one found)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    try:
        args.device = pick_device(args.device)
    except DeviceUnavailableError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device, epochs = args.device, args.epochs
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {epochs} epochs per recipe")
    seed_everything(LECTURE_SEED)
    model = mlp(LECTURE_LAYERS, batch_norm=True, flatten=False).to(device)
    train_loader, test_loader = lecture_loaders()
    progress = TrainingProgress(epochs, live_curves=False)
    loader_history, seconds = timed(
        lambda: fit_with_loader(
            model,
            train_loader,
            epochs=epochs,
            optimizer=torch.optim.Adam(model.parameters()),
            device=device,
            batches=progress.batches,
            on_epoch=progress,
        ),
        device,
    )
    samples = len(train_loader.dataset)
    loader = Timing(
        "DataLoader (lecture)",
        epochs,
        samples,
        seconds,
        evaluate_with_loader(model, test_loader, device=device).accuracy,
    )

    (train, test), load_seconds = timed(lambda: (flat_mnist(True, device), flat_mnist(False, device)), device)
    seed_everything(LECTURE_SEED)  # the same initial weights and shuffling as the first recipe
    model = mlp(LECTURE_LAYERS, batch_norm=True, flatten=False).to(device)
    progress = TrainingProgress(epochs, live_curves=False)
    tensor_history, seconds = timed(
        lambda: fit_in_loader_order(
            model, train, epochs=epochs, optimizer=torch.optim.Adam(model.parameters()), on_epoch=progress
        ),
        device,
    )
    tensor = Timing("tensor on device", epochs, samples, seconds, evaluate(model, *test).accuracy)

    print(f"\nDevice: {device}; loading both splits as tensors took {load_seconds:.1f} s once.\n")
    print(speed_report([loader, tensor]))
    print(
        f"\nSpeed-up: {loader.seconds_per_epoch / tensor.seconds_per_epoch:.1f}x; test accuracy "
        f"{loader.test_accuracy:.4f} vs {tensor.test_accuracy:.4f} "
        f"(difference {100 * (tensor.test_accuracy - loader.test_accuracy):+.2f} points)"
    )
    print(
        f"epoch 1 training loss {loader_history.train_loss[0]:.4f} vs {tensor_history.train_loss[0]:.4f}; "
        f"identical training history on both paths: {loader_history == tensor_history}"
    )
    if loader_history != tensor_history:
        print(
            "The two recipes did not compute the same updates, so the timings above compare different work.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
