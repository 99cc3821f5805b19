"""Saving trained weights and their training history under `artifacts/`, and loading them back.

A checkpoint holds only tensors, plain numbers and strings, so it loads with
`torch.load(..., weights_only=True)`, which refuses to run code hidden in a
file. It also records what produced it (the model's architecture, the training
settings, the data and the version of the training code), and `load_or_train`
reuses it only when all of these are unchanged. Checkpoints are written
atomically and are git-ignored: a fresh clone trains, a re-run reuses.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from types import ModuleType

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


# -- what produced a checkpoint -------------------------------------------------------------
def _code_version(module: ModuleType) -> str:
    """A short hash of the source of `module` and of every `helpers` module it takes names from."""
    used = {module} | {
        sys.modules[value.__module__]
        for value in vars(module).values()
        if getattr(value, "__module__", "").startswith("helpers.") and value.__module__ in sys.modules
    }
    digest = hashlib.sha256()
    for source in sorted(inspect.getsource(each) for each in used):
        digest.update(source.encode())
    return digest.hexdigest()[:16]


def _describe(value: object) -> str:
    """A text that changes whenever `value` would train a different model."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, torch.Tensor):
        data = value.detach().cpu().contiguous()
        digest = hashlib.sha256(data.reshape(-1).view(torch.uint8).numpy()).hexdigest()[:16]
        return f"tensor{tuple(data.shape)} {data.dtype} sha256 {digest}"
    if isinstance(value, torch.optim.Optimizer):
        settings = [{key: setting for key, setting in group.items() if key != "params"} for group in value.param_groups]
        return f"{type(value).__name__} {settings}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(_describe, value)) + ")"
    if inspect.isfunction(value) or inspect.isclass(value):
        module = sys.modules[value.__module__]
        return f"{value.__module__}.{value.__qualname__} (code {_code_version(module)})"
    raise TypeError(
        f"cannot record a setting of type {type(value).__name__} ({value!r}); use numbers, strings, "
        "tensors, optimizers, functions or tuples of these"
    )


def training_key(model: nn.Module, settings: Mapping[str, object]) -> dict[str, str]:
    """What produced a trained model: its architecture and each training setting, described as text."""
    if not isinstance(settings, Mapping) or not settings:
        raise ValueError(
            "settings must be a non-empty dict of what training uses, for example "
            "{'epochs': 20, 'optimizer': optimizer, 'seed': 1234, 'data': (images, labels)}"
        )
    shapes = ", ".join(f"{name} {tuple(tensor.shape)}" for name, tensor in model.state_dict().items())
    key = {"architecture": f"{model!r} [{shapes}]"}
    for name, value in settings.items():
        if name == "architecture":
            raise ValueError("'architecture' is recorded from the model itself; leave it out of settings")
        key[str(name)] = _describe(value)
    return key


# -- writing and reading --------------------------------------------------------------------
def save_checkpoint(
    name: str, model: nn.Module, history: History, *, key: Mapping[str, str] | None = None, overwrite: bool = False
) -> Path:
    """Save `model`'s weights, `history` and what produced them (`key`) as `name`, atomically.

    Refuses to replace a checkpoint unless `overwrite`.
    """
    path = checkpoint_path(name)
    if path.exists() and not overwrite:
        raise FileExistsError(f"a checkpoint already exists at {path}; pass overwrite=True to replace it")
    state = {name: value.detach().cpu() for name, value in model.state_dict().items()}
    saved = {"model": state, "history": asdict(history), "key": dict(key or {})}
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
        and isinstance(saved.get("key", {}), dict)
    ):
        raise DamagedCheckpointError(f"{_shown(path)} does not hold model weights and a training history")
    return saved


def load_checkpoint(name: str, model: nn.Module) -> History:
    """Load the weights saved as `name` into `model` (on whatever device it is) and return their history."""
    path = checkpoint_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: train the model and save it first (load_or_train does both)")
    saved = _read(path)
    try:
        model.load_state_dict(saved["model"])
    except RuntimeError as error:
        raise ValueError(
            f"the checkpoint {path} was saved from a different architecture than this model; "
            f"retrain it (retrain=True) or delete the file. PyTorch says: {error}"
        ) from error
    return History(**saved["history"])


def _set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint to `<name>.pt.damaged` (numbered if taken), keeping it for inspection."""
    aside, number = path.with_name(f"{path.name}.damaged"), 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{number}")
    return path.rename(aside)


def _reusable(path: Path, key: Mapping[str, str]) -> dict | None:
    """The checkpoint at `path` if it was produced as `key` says; None (after a one-line note) otherwise."""
    if not path.is_file():
        return None
    try:
        saved = _read(path)
    except DamagedCheckpointError as error:
        print(f"{error}; set aside as {_shown(_set_aside(path))}; training again.")
        return None
    saved_key = saved.get("key", {})
    changed = [name for name in {**key, **saved_key} if key.get(name) != saved_key.get(name)]
    if changed:
        print(
            f"The model saved in {_shown(path)} was trained differently ({', '.join(changed)} changed); training again."
        )
        return None
    return saved


def load_or_train(
    name: str, model: nn.Module, train: Callable[[], History], *, settings: Mapping[str, object], retrain: bool = False
) -> History:
    """Reuse the checkpoint `name` if it was produced by this model and these settings, else train and save.

    `settings` names everything `train()` uses: epochs, optimizer (with its
    settings), seed, data, the training function (for its code version). A
    checkpoint made with other values, or damaged, is not used: training runs
    again (a damaged file is kept beside it, renamed). With `retrain`, training
    always runs.
    """
    path, key = checkpoint_path(name), training_key(model, settings)
    saved = None if retrain else _reusable(path, key)
    if saved is not None:
        model.load_state_dict(saved["model"])
        history = History(**saved["history"])
        print(f"Loaded the saved model from {_shown(path)} ({history.epochs} epochs); retrain=True trains again.")
        return history
    history = train()
    if "epochs" in settings and history.epochs != settings["epochs"]:
        raise ValueError(
            f"training ran {history.epochs} epochs but settings say {settings['epochs']}: "
            "give both the same number; nothing was saved"
        )
    save_checkpoint(name, model, history, key=key, overwrite=True)
    print(f"Saved the trained model and its history to {_shown(path)}.")
    return history
