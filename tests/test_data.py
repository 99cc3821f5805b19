import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import datasets

from helpers.core.data import MNIST_FILES, MNISTDataError, balanced_subset, mnist, mnist_tensors, verify_mnist
from helpers.core.paths import REPO_ROOT, data_dir


@pytest.fixture
def mnist_copy(tmp_path: Path) -> Path:
    """A private copy of the four archives, safe to damage."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copy(data_dir() / "MNIST" / "raw" / name, raw / name)
    return tmp_path


def test_data_dir_does_not_depend_on_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("DLF_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_dir() == REPO_ROOT / "data"
    assert (data_dir() / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()


def test_data_dir_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.setenv("DLF_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path.resolve()


def test_committed_archives_match_their_checksums():
    assert verify_mnist() == data_dir()


def test_missing_file_is_named_with_a_fix(mnist_copy):
    (mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTDataError, match=r"missing: .*t10k-labels-idx1-ubyte\.gz.*git checkout"):
        verify_mnist(mnist_copy)


def test_corrupt_file_is_named_with_a_fix(mnist_copy):
    archive = mnist_copy / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    content = bytearray(archive.read_bytes())
    content[100] ^= 0xFF
    archive.write_bytes(bytes(content))
    with pytest.raises(MNISTDataError, match=r"corrupt: .*train-labels-idx1-ubyte\.gz .*expected 3552534a"):
        mnist(train=True, root=mnist_copy)


def test_torchvision_reads_the_offline_copy_without_network(mnist_copy, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("torchvision tried to reach the network")

    monkeypatch.setattr("socket.socket.connect", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    test_set = mnist(train=False, root=mnist_copy)
    assert len(test_set) == 10_000
    image, label = test_set[0]
    assert image.size == (28, 28) and label == 7


def test_truncated_extraction_is_redone(mnist_copy):
    mnist(train=False, root=mnist_copy)
    extracted = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    extracted.write_bytes(extracted.read_bytes()[:100])
    assert len(mnist(train=False, root=mnist_copy)) == 10_000


def test_mnist_tensors_match_to_tensor():
    from torchvision.transforms import ToTensor

    images, labels = mnist_tensors(train=False)
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64
    image, label = mnist(train=False, transform=ToTensor())[123]
    assert torch.equal(images[123], image) and labels[123] == label


def test_limited_subset_is_balanced_and_reproducible():
    images, labels = mnist_tensors(train=False, limit=1000, seed=3)
    again, _ = mnist_tensors(train=False, limit=1000, seed=3)
    other, _ = mnist_tensors(train=False, limit=1000, seed=4)
    assert torch.equal(labels.bincount(), torch.full((10,), 100))
    assert torch.equal(images, again) and not torch.equal(images, other)


def test_balanced_subset_spreads_the_remainder():
    labels = torch.arange(10).repeat(20)
    index = balanced_subset(labels, 23, seed=0)
    assert len(index.unique()) == 23
    counts = labels[index].bincount(minlength=10)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("limit", [0, 9, 10_001])
def test_impossible_limit_is_rejected(limit):
    with pytest.raises(ValueError, match="limit must lie between 10 and 10000"):
        mnist_tensors(train=False, limit=limit)


def test_class_too_small_is_rejected():
    labels = torch.tensor([0] * 50 + [1] * 2)
    with pytest.raises(ValueError, match="class 1 has only 2 samples"):
        balanced_subset(labels, 20)


def test_extracted_checksums_are_those_of_the_archives_contents(mnist_copy):
    import gzip
    import hashlib

    for name, (_, sha256) in MNIST_FILES.items():
        assert hashlib.sha256(gzip.decompress((mnist_copy / "MNIST" / "raw" / name).read_bytes())).hexdigest() == sha256


def test_a_flipped_byte_in_an_extracted_file_is_detected_and_extracted_again(mnist_copy, capsys):
    assert mnist(train=False, root=mnist_copy).targets.max() == 9
    extracted = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    content = bytearray(extracted.read_bytes())
    content[8] ^= 0xFF  # the first test label, 7, becomes 248
    extracted.write_bytes(bytes(content))
    capsys.readouterr()
    labels = mnist(train=False, root=mnist_copy).targets
    assert labels[0] == 7 and labels.max() == 9
    assert capsys.readouterr().out == (
        "t10k-labels-idx1-ubyte differs from its verified archive (damaged); extracting it again.\n"
    )


def test_a_file_changed_while_torchvision_reads_it_is_an_error(mnist_copy, monkeypatch):
    mnist(train=False, root=mnist_copy)
    extracted = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    original = datasets.MNIST.__init__

    def read_then_damage(self, *args, **kwargs):
        original(self, *args, **kwargs)
        extracted.write_bytes(extracted.read_bytes()[:-1] + b"\xff")

    monkeypatch.setattr(datasets.MNIST, "__init__", read_then_damage)
    with pytest.raises(MNISTDataError, match="t10k-labels-idx1-ubyte changed while it was read"):
        mnist(train=False, root=mnist_copy)


def reference_balanced_subset(labels: torch.Tensor, size: int, *, seed: int = 0) -> torch.Tensor:
    """`balanced_subset` as first written, all in torch: the faster one must pick the very same indices."""
    generator = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    per_class = [size // len(classes) + (i < size % len(classes)) for i in range(len(classes))]
    picks = []
    for cls, count in zip(classes, per_class):
        members = torch.nonzero(labels == cls).flatten()
        picks.append(members[torch.randperm(len(members), generator=generator)[:count]])
    index = torch.cat(picks)
    return index[torch.randperm(len(index), generator=generator)]


@pytest.mark.parametrize("size, seed", [(3000, 0), (1001, 7), (20_000, 1)])
def test_balanced_subset_picks_what_the_torch_version_picked(size, seed):
    _, labels = mnist_tensors(train=True)
    index = balanced_subset(labels, size, seed=seed)
    assert index.dtype == torch.int64
    assert torch.equal(index, reference_balanced_subset(labels, size, seed=seed))


@pytest.mark.parametrize("train", [True, False])
def test_mnist_tensors_hold_what_torchvision_reads(train):
    images, labels = mnist_tensors(train=train)
    dataset = mnist(train=train)
    assert torch.equal(images, dataset.data.unsqueeze(1).float() / 255)
    assert torch.equal(labels, dataset.targets)


def test_mnist_tensors_does_without_torchvision(mnist_copy, monkeypatch):
    import ast
    import sys

    import helpers.core.data

    module = ast.parse(Path(helpers.core.data.__file__).read_text())
    imported = [ast.unparse(node) for node in module.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not [line for line in imported if "torchvision" in line], "importing helpers.core.data imports torchvision"
    for name in [name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")]:
        monkeypatch.setitem(sys.modules, name, None)  # any import of torchvision now fails
    images, labels = mnist_tensors(train=False, limit=100, root=mnist_copy)
    assert images.shape == (100, 1, 28, 28) and labels.bincount().tolist() == [10] * 10
    with pytest.raises(ImportError):
        mnist(train=False, root=mnist_copy)


def test_mnist_tensors_extracts_a_missing_file_and_rejects_a_damaged_one(mnist_copy, capsys):
    raw = mnist_copy / "MNIST" / "raw"
    images, labels = mnist_tensors(train=False, root=mnist_copy)  # nothing extracted yet: extracted here
    assert (raw / "t10k-images-idx3-ubyte").is_file() and labels[0] == 7 and images.shape == (10_000, 1, 28, 28)
    extracted = raw / "t10k-labels-idx1-ubyte"
    content = bytearray(extracted.read_bytes())
    content[8] ^= 0xFF  # the first test label, 7, becomes 248
    extracted.write_bytes(bytes(content))
    capsys.readouterr()
    _, labels = mnist_tensors(train=False, root=mnist_copy)
    assert labels[0] == 7 and labels.max() == 9
    assert "t10k-labels-idx1-ubyte differs from its verified archive (damaged); extracting it again." in (
        capsys.readouterr().out
    )


def test_mnist_tensors_returns_fresh_tensors():
    images, labels = mnist_tensors(train=False)
    images.zero_()
    labels.zero_()
    again, labels_again = mnist_tensors(train=False)
    assert again.max() == 1 and labels_again.max() == 9


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"train": "no"}, r"train must be True \(the training split\) or False \(the test split\), got 'no'"),
        ({"train": 0}, r"train must be True .* got 0"),
        ({"limit": 10.5}, r"limit must be a whole number, got 10.5"),
        ({"limit": 100, "seed": 1.5}, r"seed must be a whole number, got 1.5"),
    ],
)
def test_an_argument_of_the_wrong_kind_is_one_clear_sentence(arguments, message):
    with pytest.raises(TypeError, match=message):
        mnist_tensors(**arguments)


def test_numpy_integers_count_as_whole_numbers():
    images, labels = mnist_tensors(train=np.bool_(False), limit=np.int64(100), seed=np.int64(3))
    again, same = mnist_tensors(train=False, limit=100, seed=3)
    assert torch.equal(images, again) and torch.equal(labels, same)


def test_torchvision_s_mnist_refuses_a_train_that_is_not_true_or_false():
    with pytest.raises(TypeError, match="train must be True"):
        mnist(train="no")
