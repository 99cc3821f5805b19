"""Tests for helpers.core.checkpoints: saving and loading trained models, and refusing damaged files."""

import re

import pytest
import torch
from torch import nn

from helpers.core.checkpoints import (
    DamagedCheckpointError,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from helpers.core.training import History


@pytest.fixture(autouse=True)
def artifacts(tmp_path, monkeypatch):
    monkeypatch.setenv("DLF_ARTIFACTS_DIR", str(tmp_path))
    return tmp_path


def model(hidden=4, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, hidden), nn.BatchNorm1d(hidden), nn.Linear(hidden, 2))


HISTORY = History(train_loss=[0.5, 0.25], train_accuracy=[0.8, 0.9], val_loss=[0.6, 0.4], val_accuracy=[0.7, 0.85])


def test_saved_weights_and_history_come_back(artifacts):
    trained = model(seed=1)
    trained[1].running_mean.fill_(0.5)  # buffers travel with the weights
    path = save_checkpoint("toy-model", trained, HISTORY)
    assert path == artifacts / "toy-model.pt"
    fresh = model(seed=2)
    assert load_checkpoint("toy-model", fresh) == HISTORY
    for (name, a), b in zip(trained.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name


def test_a_checkpoint_loads_with_weights_only():
    path = save_checkpoint("toy-model", model(), HISTORY)
    saved = torch.load(path, weights_only=True)
    assert set(saved) == {"model", "history"}


def test_save_refuses_to_overwrite_unless_asked():
    save_checkpoint("toy-model", model(seed=1), HISTORY)
    with pytest.raises(FileExistsError, match="pass overwrite=True to replace it"):
        save_checkpoint("toy-model", model(seed=2), HISTORY)
    replacement = model(seed=2)
    save_checkpoint("toy-model", replacement, History(train_loss=[1.0], train_accuracy=[0.5]), overwrite=True)
    loaded = model(seed=3)
    assert load_checkpoint("toy-model", loaded).epochs == 1
    assert torch.equal(loaded[0].weight, replacement[0].weight)


def test_load_explains_a_missing_checkpoint():
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*absent.pt: train the model and save it first"):
        load_checkpoint("absent", model())


def test_load_explains_a_different_architecture():
    save_checkpoint("toy-model", model(hidden=4), HISTORY)
    with pytest.raises(ValueError, match="saved from a different architecture"):
        load_checkpoint("toy-model", model(hidden=5))


@pytest.mark.parametrize("name", ["", "Has-Capitals", "../escape", "-leading-dash", "with space", 3])
def test_checkpoint_names_are_checked(name):
    with pytest.raises(ValueError, match="must be lower-case letters, digits"):
        checkpoint_path(name)


class Malicious:
    def __reduce__(self):
        return print, ("this code ran while loading",)


def truncated(path):
    path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize(
    "damage, reason",
    [
        (truncated, "is not a readable checkpoint (cut short or overwritten"),
        (lambda path: path.write_bytes(b""), "is not a readable checkpoint (cut short or overwritten"),
        (lambda path: path.write_text("just some text\n"), "is not a readable checkpoint (cut short or overwritten"),
        (
            lambda path: torch.save({"weights": torch.zeros(2)}, path),
            "does not hold model weights and a training history",
        ),
        (lambda path: torch.save({"model": Malicious(), "history": {}}, path), "holds objects other than tensors"),
    ],
)
def test_a_damaged_checkpoint_is_refused_in_one_sentence(damage, reason):
    save_checkpoint("toy-model", model(), HISTORY)
    damage(checkpoint_path("toy-model"))
    with pytest.raises(DamagedCheckpointError, match=re.escape(reason)) as caught:
        load_checkpoint("toy-model", model())
    assert "this code ran" not in str(caught.value) and "\n" not in str(caught.value)


def test_loading_a_checkpoint_holding_code_never_suggests_weights_only_false():
    torch.save({"model": Malicious(), "history": {}}, checkpoint_path("toy-model"))
    with pytest.raises(DamagedCheckpointError) as caught:
        load_checkpoint("toy-model", model())
    assert "weights_only" not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_save_interrupted_midway_leaves_the_old_checkpoint(monkeypatch):
    path = save_checkpoint("toy-model", model(seed=1), HISTORY)
    good = path.read_bytes()

    def save_half_then_stop(obj, stream):
        stream.write(good[: len(good) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_half_then_stop)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint("toy-model", model(seed=2), HISTORY, overwrite=True)
    assert path.read_bytes() == good
