"""Tests for helpers.core.checkpoints: saving, loading and reusing trained models."""

import pytest
import torch
from torch import nn

from helpers.core.checkpoints import checkpoint_path, load_checkpoint, load_or_train, save_checkpoint
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


def test_load_or_train_trains_once_then_reuses(capsys):
    calls = []
    trained = model(seed=1)

    def train():
        calls.append(1)
        with torch.no_grad():
            trained[0].weight.add_(1.0)
        return HISTORY

    assert load_or_train("toy-model", trained, train) == HISTORY
    assert "Saved the trained model" in capsys.readouterr().out
    reused = model(seed=2)
    assert load_or_train("toy-model", reused, train) == HISTORY
    assert calls == [1] and "Loaded the saved model" in capsys.readouterr().out
    assert torch.equal(reused[0].weight, trained[0].weight)
    load_or_train("toy-model", trained, train, retrain=True)
    assert calls == [1, 1]
