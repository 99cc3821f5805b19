"""Saving trained weights and their training history under `artifacts/`, and loading them back.

A checkpoint holds only tensors and plain numbers, so it loads with
`torch.load(..., weights_only=True)`, which refuses to run code hidden in a file.
Checkpoints are written atomically (a crash never leaves half a file) and are git-ignored.
"""

from __future__ import annotations

import re
from dataclasses import asdict, fields
from pathlib import Path

import torch
from torch import nn

from helpers.core.files import replace_atomically
from helpers.core.paths import REPO_ROOT, artifacts_dir
from helpers.core.training import History

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class DamagedCheckpointError(ValueError):
    """A checkpoint file that cannot be read back as one: cut short, overwritten, or holding code."""


def _shown(path: Path) -> str:
    """`path` relative to the repository when it lies inside it, so printed output holds no machine paths."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def checkpoint_path(name: str) -> Path:
    """Where the checkpoint called `name` lives: `artifacts/<name>.pt`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"checkpoint name {name!r} must be lower-case letters, digits, '-' or '_' "
            "(starting with a letter or digit), for example 'digits-mlp'"
        )
    return artifacts_dir() / f"{name}.pt"


def save_checkpoint(name: str, model: nn.Module, history: History, *, overwrite: bool = False) -> Path:
    """Save `model`'s weights and its training `history` as `name`, atomically.

    Refuses to replace a checkpoint unless `overwrite`.
    """
    path = checkpoint_path(name)
    if path.exists() and not overwrite:
        raise FileExistsError(f"a checkpoint already exists at {path}; pass overwrite=True to replace it")
    state = {name: value.detach().cpu() for name, value in model.state_dict().items()}
    saved = {"model": state, "history": asdict(history)}
    return replace_atomically(path, lambda stream: torch.save(saved, stream))


def _read(path: Path) -> dict:
    """The checkpoint at `path` as saved; `DamagedCheckpointError` in one sentence if it is not one."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds (EOFError, RuntimeError, UnpicklingError, ...)
        if "weights only" in str(error).lower():
            raise DamagedCheckpointError(
                f"{_shown(path)} holds objects other than tensors and numbers (possibly code), so it is not loaded"
            ) from None
        raise DamagedCheckpointError(
            f"{_shown(path)} is not a readable checkpoint (cut short or overwritten: {type(error).__name__})"
        ) from None
    history_fields = {field.name for field in fields(History)}
    if not (
        isinstance(saved, dict)
        and isinstance(saved.get("model"), dict)
        and all(isinstance(value, torch.Tensor) for value in saved["model"].values())
        and isinstance(saved.get("history"), dict)
        and set(saved["history"]) == history_fields
        and all(isinstance(values, list) for values in saved["history"].values())
    ):
        raise DamagedCheckpointError(f"{_shown(path)} does not hold model weights and a training history")
    return saved


def load_checkpoint(name: str, model: nn.Module) -> History:
    """Load the weights saved as `name` into `model` (on whatever device it is) and return their history."""
    path = checkpoint_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: train the model and save it first (save_checkpoint)")
    saved = _read(path)
    try:
        model.load_state_dict(saved["model"])
    except RuntimeError as error:
        raise ValueError(
            f"the checkpoint {path} was saved from a different architecture than this model; "
            f"train it again or delete the file. PyTorch says: {error}"
        ) from error
    return History(**saved["history"])
