"""Tests for benchmarks/mnist_training_speed.py: its command line rejects bad requests clearly."""

import importlib.util
import sys

import pytest

from helpers.core.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "mnist_training_speed.py"
spec = importlib.util.spec_from_file_location("mnist_training_speed", SCRIPT)
benchmark = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = benchmark  # a dataclass looks its module up there
spec.loader.exec_module(benchmark)


def test_an_absent_device_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--device", "cuda:99"])
    assert "was requested" in capsys.readouterr().err


def test_a_device_name_that_does_not_exist_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--device", "tpu"])
    assert "is not a device name; use cpu, cuda, cuda:N or mps" in capsys.readouterr().err


def test_epochs_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--epochs", "0", "--device", "cpu"])
    assert "--epochs must be at least 1, got 0" in capsys.readouterr().err


def test_defaults_are_the_lectures_twenty_epochs_on_the_cpu_when_asked():
    args = benchmark.parse_args(["--device", "cpu"])
    assert args.epochs == 20 and args.device.type == "cpu" and args.devices == [args.device]
    assert args.threads is None  # PyTorch's own thread count unless asked


def test_without_a_device_the_cpu_is_measured_and_cuda_beside_it_when_present(monkeypatch):
    monkeypatch.setattr(benchmark.torch.cuda, "is_available", lambda: False)
    assert [d.type for d in benchmark.parse_args([]).devices] == ["cpu"]
    monkeypatch.setattr(benchmark.torch.cuda, "is_available", lambda: True)
    assert [d.type for d in benchmark.parse_args([]).devices] == ["cpu", "cuda"]


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--threads", "0"])
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err


def test_train_images_must_be_between_one_batch_and_the_training_split(capsys):
    assert benchmark.parse_args(["--device", "cpu"]).train_images == 60_000
    for wrong in ("99", "60001"):
        with pytest.raises(SystemExit):
            benchmark.parse_args(["--train-images", wrong])
        assert f"--train-images must lie between 100 and 60000, got {wrong}" in capsys.readouterr().err


@pytest.mark.slow  # trains one epoch of each recipe on 6000 images, the first through a DataLoader
def test_the_dataloader_and_the_tensor_path_train_identically_and_fused_adam_as_accurately(capsys):
    assert benchmark.main(["--epochs", "1", "--device", "cpu", "--train-images", "6000"]) == 0
    out = capsys.readouterr().out
    assert "identical training history, DataLoader and tensor path: True" in out
    assert "DataLoader (lecture), cpu epoch 1: loss 0.8858 accuracy 0.8007" in out
    assert "tensor path, cpu epoch 1: loss 0.8858 accuracy 0.8007" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ") and " cpu |" in line]
    assert [row[0] for row in rows] == [
        "| DataLoader (lecture), cpu",
        "| tensor path, cpu",
        "| tensor path, fused Adam, cpu",
    ]
    accuracies = [float(row[-1].rstrip(" |")) for row in rows]
    assert accuracies[0] == accuracies[1] and abs(accuracies[2] - accuracies[0]) < 0.01


def test_the_benchmark_fails_when_the_recipes_train_differently(monkeypatch, capsys):
    def different(*args, **kwargs):
        raise benchmark.DifferentWork("on cpu the DataLoader and the tensor path trained differently")

    monkeypatch.setattr(benchmark, "measure", different)
    assert benchmark.main(["--epochs", "1", "--device", "cpu"]) == 1
    assert "the timings would compare different work" in capsys.readouterr().err
