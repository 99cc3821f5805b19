"""The offline copy of MNIST in `data/MNIST/raw/`, verified before use.

Every file that is read is checked against its SHA-256 sum: the committed `.gz`
archives, and the files extracted from them (git-ignored). A missing or damaged
archive fails early with a message that names it and says how to restore it,
instead of torchvision trying (and failing) to download it; a damaged extracted
file is removed and extracted again from its verified archive.

`mnist_tensors` reads the extracted files itself (MNIST's IDX format is a short
header and then bytes) and checks the SHA-256 of the very bytes it parses, so
it needs no torchvision, whose import costs seconds; only `mnist`, which
returns a `torchvision.datasets.MNIST`, imports it. Within a process each file
is read, hashed and parsed once while it is unchanged on disk (same size and
modification time); every call returns fresh tensors.
"""

from __future__ import annotations

import gzip
import hashlib
import numbers
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from helpers.core.files import replace_atomically
from helpers.core.paths import data_dir

if TYPE_CHECKING:
    from torchvision import datasets

# archive name -> (sha256 of the .gz archive, sha256 of the file extracted from it)
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}

IMAGE_SHAPE = (28, 28)
"""Height and width of an MNIST image."""
IMAGE_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
"""Pixels of one MNIST image: the input size of a network that reads it flattened."""


class MNISTDataError(FileNotFoundError):
    """An MNIST file is missing or does not match its checksum."""


# (path, size, modification time) -> sha256: each file is hashed once per process while it is unchanged
_hashes: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def _restore_hint(path: Path) -> str:
    return (
        f"Restore it from the repository with `git checkout -- data/MNIST/raw/{path.name}` "
        f"(or copy the original MNIST file to {path}); point DLF_DATA_DIR elsewhere only "
        "if you keep MNIST outside the repository."
    )


def verify_mnist(root: str | Path | None = None) -> Path:
    """Check the four MNIST archives under `<root>/MNIST/raw/` and the files extracted from them; return `root`.

    Raises `MNISTDataError` naming the first archive that is missing or whose
    SHA-256 differs from the original. An extracted file that differs from what
    its archive holds (a damaged or interrupted extraction) is removed, with a
    one-line note, so that torchvision extracts it again.
    """
    root = Path(root) if root is not None else data_dir()
    raw = root / "MNIST" / "raw"
    for name, (sha256, extracted_sha256) in MNIST_FILES.items():
        archive = raw / name
        if not archive.is_file():
            raise MNISTDataError(f"MNIST file missing: {archive}. {_restore_hint(archive)}")
        actual = _sha256(archive)
        if actual != sha256:
            raise MNISTDataError(
                f"MNIST file corrupt: {archive} has SHA-256 {actual}, expected {sha256}. {_restore_hint(archive)}"
            )
        extracted = raw / name.removesuffix(".gz")
        if extracted.exists() and _sha256(extracted) != extracted_sha256:
            print(f"{extracted.name} differs from its verified archive (damaged); extracting it again.")
            extracted.unlink()
    return root


def _check_extracted(root: Path) -> None:
    """Every extracted file now present holds exactly what its verified archive holds."""
    raw = root / "MNIST" / "raw"
    for name, (_, extracted_sha256) in MNIST_FILES.items():
        extracted = raw / name.removesuffix(".gz")
        if extracted.exists() and _sha256(extracted) != extracted_sha256:
            raise MNISTDataError(
                f"MNIST file {extracted} changed while it was read, or was extracted wrongly: "
                "delete it and run again (it is extracted afresh from the verified archive)."
            )


def _split_flag(train: object) -> bool:
    """`train` if it is True or False; else `TypeError` (a string such as "no" would silently mean True)."""
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True (the training split) or False (the test split), got {train!r}")
    return bool(train)


def _whole(name: str, value: object) -> int:
    """`value` as an int if it is a whole number (a Python or NumPy integer, not a bool); else `TypeError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def mnist(train: bool = True, transform=None, root: str | Path | None = None) -> datasets.MNIST:
    """`torchvision.datasets.MNIST` read from the verified offline copy.

    `download=True` is passed as usual: with the archives in place torchvision
    only checks their MD5 and extracts them, without touching the network. The
    extracted files it reads are checked against their SHA-256 sums too.
    """
    from torchvision import datasets  # imported here: it takes seconds, and `mnist_tensors` does without it

    train = _split_flag(train)
    root = verify_mnist(root)
    dataset = datasets.MNIST(root=str(root), train=train, transform=transform, download=True)
    _check_extracted(root)  # what torchvision has just read (and perhaps extracted) is the original
    return dataset


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
    train, seed = _split_flag(train), _whole("seed", seed)
    limit = None if limit is None else _whole("limit", limit)
    images, labels = _split(verify_mnist(root), train)
    if limit is not None:
        if not 10 <= limit <= len(labels):
            raise ValueError(f"limit must lie between 10 and {len(labels)} (the size of this split), got {limit}")
        index = balanced_subset(labels, limit, seed=seed)
        images, labels = images[index], labels[index]
    return images.unsqueeze(1).float().div_(255.0), labels.clone()


# (path, size, modification time) -> the tensor parsed from the file's verified bytes
_parsed: dict[tuple[str, int, int], torch.Tensor] = {}


def _split(root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8, N x 28 x 28) and labels (int64) of a split, as `torchvision.datasets.MNIST` holds them."""
    prefix = "train" if train else "t10k"
    images = _read_extracted(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_extracted(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte.gz")
    return images, labels.long()


def _read_extracted(archive: Path) -> torch.Tensor:
    """The tensor in the file extracted from `archive` (verified by `verify_mnist`), extracting it if absent.

    The bytes parsed are the bytes whose SHA-256 is checked; a mismatch (the
    file changed since `verify_mnist` looked at it) is an error.
    """
    extracted = archive.with_suffix("")
    expected = MNIST_FILES[archive.name][1]
    if not extracted.exists():
        content = gzip.decompress(archive.read_bytes())
        if hashlib.sha256(content).hexdigest() != expected:
            raise MNISTDataError(f"{archive} does not hold the original MNIST file: {_restore_hint(archive)}")
        replace_atomically(extracted, lambda stream: stream.write(content))
    status = extracted.stat()
    key = (str(extracted.resolve()), status.st_size, status.st_mtime_ns)
    if key not in _parsed:
        content = bytearray(status.st_size)
        with extracted.open("rb") as stream:
            read = stream.readinto(content)
        if read != status.st_size or hashlib.sha256(content).hexdigest() != expected:
            raise MNISTDataError(
                f"MNIST file {extracted} changed while it was read, or was extracted wrongly: "
                "delete it and run again (it is extracted afresh from the verified archive)."
            )
        _hashes[key] = expected
        _parsed[key] = _parse_idx(content, extracted)
    return _parsed[key]


def _parse_idx(content: bytearray, path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes: magic number 0x0000080N (N dimensions), N big-endian sizes, the data."""
    magic = struct.unpack_from(">I", content)[0]
    dimensions = magic & 0xFF
    if magic >> 8 != 0x08 or dimensions == 0:
        raise MNISTDataError(f"{path} is not an IDX file of unsigned bytes (magic number {magic:#010x})")
    shape = struct.unpack_from(f">{dimensions}I", content, 4)
    data = torch.frombuffer(content, dtype=torch.uint8, offset=4 + 4 * dimensions)
    return data.view(shape)


def balanced_subset(labels: torch.Tensor, size: int, *, seed: int = 0) -> torch.Tensor:
    """Indices of `size` samples, spread as evenly as possible over the classes, in random order."""
    generator = torch.Generator().manual_seed(seed)
    # The class members are found with NumPy: on a busy 2-core CPU torch.unique and
    # ten torch.nonzero calls over 60,000 labels take a tenth of a second or more.
    values = labels.cpu().numpy()
    classes = np.unique(values)
    per_class = [size // len(classes) + (i < size % len(classes)) for i in range(len(classes))]
    picks = []
    for cls, count in zip(classes, per_class):
        members = torch.from_numpy(np.flatnonzero(values == cls))  # ascending, as torch.nonzero gives them
        if count > len(members):
            raise ValueError(f"class {int(cls)} has only {len(members)} samples, {count} were asked for")
        picks.append(members[torch.randperm(len(members), generator=generator)[:count]])
    index = torch.cat(picks)
    return index[torch.randperm(len(index), generator=generator)]
