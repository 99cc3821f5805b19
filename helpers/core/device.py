"""Choosing where tensors live: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import os

import torch

DEVICE_ENV_VAR = "DLF_DEVICE"


class DeviceUnavailableError(RuntimeError):
    """A device was requested that this machine or this PyTorch build cannot provide."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def _check(device: torch.device, source: str) -> None:
    fix = (
        f"Ask for one that exists (cpu{', cuda' if torch.cuda.is_available() else ''}"
        f"{', mps' if _mps_available() else ''}), or drop the request to choose automatically"
    )
    if source == "environment":
        fix += f" (unset {DEVICE_ENV_VAR})"
    if device.type == "cpu":
        return
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"CUDA was requested ({source}: {str(device)!r}) but PyTorch sees no CUDA GPU "
                f"(torch {torch.__version__}, torch.cuda.is_available() is False). {fix}."
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceUnavailableError(
                f"{str(device)!r} was requested ({source}) but only {count} CUDA "
                f"device(s) exist (cuda:0 to cuda:{count - 1}). {fix}."
            )
        return
    if device.type == "mps":
        if not _mps_available():
            raise DeviceUnavailableError(
                f"Apple MPS was requested ({source}) but torch.backends.mps.is_available() "
                f"is False: MPS needs an Apple-silicon Mac and a PyTorch build with MPS. {fix}."
            )
        return
    raise DeviceUnavailableError(
        f"Device type {device.type!r} ({source}) is not supported here; use cpu, cuda, cuda:N or mps."
    )


def pick_device(requested: str | torch.device | None = None, *, verbose: bool = True) -> torch.device:
    """Return the device to compute on and, if `verbose`, print the choice and why.

    `requested` (for example "cpu", "cuda", "cuda:1", "mps") wins; else the
    environment variable `DLF_DEVICE`; else the first available of CUDA, Apple
    MPS and the CPU. A request for a device that is absent raises
    `DeviceUnavailableError` with the reason and the fix.
    """
    if requested is not None:
        source = "argument"
    elif os.environ.get(DEVICE_ENV_VAR):
        requested, source = os.environ[DEVICE_ENV_VAR], "environment"
    else:
        source = "automatic"

    if requested is None:
        if torch.cuda.is_available():
            device, why = torch.device("cuda"), f"CUDA GPU found: {torch.cuda.get_device_name(0)}"
        elif _mps_available():
            device, why = torch.device("mps"), "Apple MPS found"
        else:
            device, why = torch.device("cpu"), "no CUDA GPU or Apple MPS found"
    else:
        try:
            device = torch.device(requested)
        except (RuntimeError, TypeError) as error:
            raise DeviceUnavailableError(
                f"{requested!r} ({source}) is not a device name; use cpu, cuda, cuda:N or mps."
            ) from error
        _check(device, source)
        why = f"requested by {'argument' if source == 'argument' else DEVICE_ENV_VAR}"

    if verbose:
        print(f"Using device: {device} ({why})")
    return device
