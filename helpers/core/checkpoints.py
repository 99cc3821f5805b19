"""Saving trained weights and their training history under `artifacts/`, and loading them back.

A checkpoint holds only tensors and plain numbers, so it loads with
`torch.load(..., weights_only=True)`, which refuses to run code hidden in a
file. Checkpoints are git-ignored: a fresh clone trains, a re-run reuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from helpers.core.paths import REPO_ROOT, artifacts_dir
from helpers.core.training import History

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


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
    """Save `model`'s weights and `history` as `name`; refuses to replace a checkpoint unless `overwrite`."""
    path = checkpoint_path(name)
    if path.exists() and not overwrite:
        raise FileExistsError(f"a checkpoint already exists at {path}; pass overwrite=True to replace it")
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    torch.save({"model": state, "history": asdict(history)}, path)
    return path


def load_checkpoint(name: str, model: nn.Module) -> History:
    """Load the weights saved as `name` into `model` (on whatever device it is) and return their history."""
    path = checkpoint_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: train the model and save it first (load_or_train does both)")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(saved["model"])
    except RuntimeError as error:
        raise ValueError(
            f"the checkpoint {path} was saved from a different architecture than this model; "
            f"retrain it (retrain=True) or delete the file. PyTorch says: {error}"
        ) from error
    return History(**saved["history"])


def load_or_train(name: str, model: nn.Module, train: Callable[[], History], *, retrain: bool = False) -> History:
    """Reuse the checkpoint `name` if it exists (and not `retrain`), else run `train()` and save the result."""
    path = checkpoint_path(name)
    if path.is_file() and not retrain:
        history = load_checkpoint(name, model)
        print(f"Loaded the saved model from {_shown(path)} ({history.epochs} epochs); retrain=True trains again.")
        return history
    history = train()
    save_checkpoint(name, model, history, overwrite=True)
    print(f"Saved the trained model and its history to {_shown(path)}.")
    return history
