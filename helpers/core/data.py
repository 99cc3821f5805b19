"""The offline copy of MNIST in `data/MNIST/raw/`, verified before use.

Every file is checked against its SHA-256 sum, so a missing or damaged file
fails early with a message that names it and says how to restore it, instead
of torchvision trying (and failing) to download it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torchvision import datasets

from helpers.core.paths import data_dir

# name -> (sha256 of the .gz archive, size in bytes once extracted)
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        47_040_016,
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        60_008,
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        7_840_016,
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        10_008,
    ),
}

IMAGE_SHAPE = (28, 28)
"""Height and width of an MNIST image."""
IMAGE_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
"""Pixels of one MNIST image: the input size of a network that reads it flattened."""


class MNISTDataError(FileNotFoundError):
    """An MNIST file is missing or does not match its checksum."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _restore_hint(path: Path) -> str:
    return (
        f"Restore it from the repository with `git checkout -- data/MNIST/raw/{path.name}` "
        f"(or copy the original MNIST file to {path}); point DLF_DATA_DIR elsewhere only "
        "if you keep MNIST outside the repository."
    )


def verify_mnist(root: str | Path | None = None) -> Path:
    """Check the four MNIST archives under `<root>/MNIST/raw/` and return `root`.

    Raises `MNISTDataError` naming the first file that is missing or whose
    SHA-256 differs from the original. Extracted files of the wrong size (an
    interrupted extraction) are removed so that torchvision extracts them again.
    """
    root = Path(root) if root is not None else data_dir()
    raw = root / "MNIST" / "raw"
    for name, (sha256, extracted_size) in MNIST_FILES.items():
        archive = raw / name
        if not archive.is_file():
            raise MNISTDataError(f"MNIST file missing: {archive}. {_restore_hint(archive)}")
        actual = _sha256(archive)
        if actual != sha256:
            raise MNISTDataError(
                f"MNIST file corrupt: {archive} has SHA-256 {actual}, expected {sha256}. {_restore_hint(archive)}"
            )
        extracted = raw / name.removesuffix(".gz")
        if extracted.exists() and extracted.stat().st_size != extracted_size:
            extracted.unlink()
    return root


def mnist(train: bool = True, transform=None, root: str | Path | None = None) -> datasets.MNIST:
    """`torchvision.datasets.MNIST` read from the verified offline copy.

    `download=True` is passed as usual: with the archives in place torchvision
    only checks their MD5 and extracts them, without touching the network.
    """
    root = verify_mnist(root)
    return datasets.MNIST(root=str(root), train=train, transform=transform, download=True)


def mnist_tensors(
    train: bool = True,
    limit: int | None = None,
    *,
    seed: int = 0,
    root: str | Path | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All of an MNIST split as two tensors: images and labels.

    Images are float32 of shape (N, 1, 28, 28) scaled to [0, 1], exactly what
    `ToTensor()` gives one image at a time; labels are int64 of shape (N,).
    With `limit`, a class-balanced random subset of that many images is drawn
    (reproducibly, from `seed`), which keeps quick experiments representative.
    """
    dataset = mnist(train=train, root=root)
    images, labels = dataset.data, dataset.targets
    if limit is not None:
        if not 10 <= limit <= len(labels):
            raise ValueError(f"limit must lie between 10 and {len(labels)} (the size of this split), got {limit}")
        index = balanced_subset(labels, limit, seed=seed)
        images, labels = images[index], labels[index]
    return images.unsqueeze(1).float().div_(255.0), labels.clone()


def balanced_subset(labels: torch.Tensor, size: int, *, seed: int = 0) -> torch.Tensor:
    """Indices of `size` samples, spread as evenly as possible over the classes, in random order."""
    generator = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    per_class = [size // len(classes) + (i < size % len(classes)) for i in range(len(classes))]
    picks = []
    for cls, count in zip(classes, per_class):
        members = torch.nonzero(labels == cls).flatten()
        if count > len(members):
            raise ValueError(f"class {int(cls)} has only {len(members)} samples, {count} were asked for")
        picks.append(members[torch.randperm(len(members), generator=generator)[:count]])
    index = torch.cat(picks)
    return index[torch.randperm(len(index), generator=generator)]
