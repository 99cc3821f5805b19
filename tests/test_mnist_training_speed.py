"""Tests for benchmarks/mnist_training_speed.py: its command line rejects bad requests clearly."""

import importlib.util

import pytest

from helpers.core.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "mnist_training_speed.py"
spec = importlib.util.spec_from_file_location("mnist_training_speed", SCRIPT)
benchmark = importlib.util.module_from_spec(spec)
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
    assert args.epochs == 20 and args.device.type == "cpu"


@pytest.mark.slow  # trains one epoch twice through a DataLoader
def test_both_recipes_train_identically_with_live_progress_bars(monkeypatch, capsys):
    monkeypatch.setenv("DLF_HEADLESS", "0")  # as from a terminal: progress bars are drawn
    assert benchmark.main(["--epochs", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1 training loss 0.3272 vs 0.3272; identical training history on both paths: True" in out
