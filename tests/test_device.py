import pytest
import torch

from helpers.core import device as device_module
from helpers.core.device import DeviceUnavailableError, pick_device


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv("DLF_DEVICE", raising=False)


def test_automatic_choice_prefers_cuda_then_mps_then_cpu(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    assert "Using device: cpu (no CUDA GPU or Apple MPS found)" in capsys.readouterr().out

    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert pick_device(verbose=False) == torch.device("mps")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    assert pick_device() == torch.device("cuda")
    assert "CUDA GPU found: Test GPU" in capsys.readouterr().out


def test_argument_overrides_environment(monkeypatch, capsys):
    monkeypatch.setenv("DLF_DEVICE", "cuda:7")
    assert pick_device("cpu") == torch.device("cpu")
    assert "requested by argument" in capsys.readouterr().out


def test_environment_variable_is_used(monkeypatch, capsys):
    monkeypatch.setenv("DLF_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert "requested by DLF_DEVICE" in capsys.readouterr().out


def test_absent_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailableError, match=r"CUDA was requested .*no CUDA GPU.*Ask for one that exists"):
        pick_device("cuda")


def test_absent_cuda_from_environment_says_to_unset_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("DLF_DEVICE", "cuda")
    with pytest.raises(DeviceUnavailableError, match="unset DLF_DEVICE"):
        pick_device()


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(DeviceUnavailableError, match=r"'cuda:5' was requested .*only 2 CUDA device\(s\)"):
        pick_device("cuda:5")


def test_absent_mps_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    with pytest.raises(DeviceUnavailableError, match="Apple MPS was requested"):
        pick_device("mps")


@pytest.mark.parametrize("name", ["gpu", "tpu0", ""])
def test_unknown_device_name(name):
    with pytest.raises(DeviceUnavailableError, match="not a device name|not supported"):
        pick_device(name)


def test_unsupported_device_type():
    with pytest.raises(DeviceUnavailableError, match="'meta' .* is not supported"):
        pick_device("meta")
