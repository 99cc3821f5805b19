"""Tests for helpers.core.checkpoints: saving, loading and reusing trained models."""

import re

import pytest
import torch
from torch import nn

from helpers.core.checkpoints import (
    DamagedCheckpointError,
    checkpoint_path,
    load_checkpoint,
    load_or_train,
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
    assert set(saved) == {"model", "history", "key"}


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


SETTINGS = {"epochs": 2, "seed": 0, "data": (torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]))}


def test_load_or_train_trains_once_then_reuses(capsys):
    calls = []
    trained = model(seed=1)

    def train():
        calls.append(1)
        with torch.no_grad():
            trained[0].weight.add_(1.0)
        return HISTORY

    assert load_or_train("toy-model", trained, train, settings=SETTINGS) == HISTORY
    assert "Saved the trained model" in capsys.readouterr().out
    reused = model(seed=2)
    assert load_or_train("toy-model", reused, train, settings=SETTINGS) == HISTORY
    assert calls == [1] and "Loaded the saved model" in capsys.readouterr().out
    assert torch.equal(reused[0].weight, trained[0].weight)
    load_or_train("toy-model", trained, train, settings=SETTINGS, retrain=True)
    assert calls == [1, 1]


class Trainer:
    """A `train` function that records its calls and returns a history of `epochs` epochs."""

    def __init__(self, epochs=2):
        self.calls, self.epochs = 0, epochs

    def __call__(self):
        self.calls += 1
        return History(train_loss=[0.5] * self.epochs, train_accuracy=[0.9] * self.epochs)


def optimizer_for(net, lr=1e-3):
    return torch.optim.Adam(net.parameters(), lr=lr)


def changed(settings, **changes):
    return {**settings, **changes}


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda net: changed(SETTINGS, epochs=3), "epochs"),
        (lambda net: changed(SETTINGS, seed=1), "seed"),
        (lambda net: changed(SETTINGS, data=(torch.ones(4, 3), torch.tensor([0, 1, 0, 1]))), "data"),
        (lambda net: changed(SETTINGS, optimizer=optimizer_for(net, lr=1e-2)), "optimizer"),
        (lambda net: changed(SETTINGS, recipe=torch.optim.SGD), "recipe"),
    ],
)
def test_a_checkpoint_made_with_other_settings_is_not_reused(capsys, change, named):
    net = model()
    first = changed(SETTINGS, optimizer=optimizer_for(net), recipe=torch.optim.Adam)
    load_or_train("toy-model", net, Trainer(), settings=first)
    capsys.readouterr()
    other = change(net)
    trainer = Trainer(epochs=other["epochs"])
    load_or_train("toy-model", net, trainer, settings={**first, **other})
    out = capsys.readouterr().out
    assert trainer.calls == 1, "the checkpoint was reused although a setting changed"
    assert (
        f"The model saved in {checkpoint_path('toy-model')} was trained differently ({named} changed); training again."
    ) in out
    load_or_train("toy-model", net, trainer, settings={**first, **other})
    assert trainer.calls == 1, "the retrained checkpoint is reused with the settings that made it"


def test_a_checkpoint_from_another_architecture_is_retrained(capsys):
    load_or_train("toy-model", model(hidden=4), Trainer(), settings=SETTINGS)
    trainer = Trainer()
    load_or_train("toy-model", model(hidden=5), trainer, settings=SETTINGS)
    assert trainer.calls == 1 and "(architecture changed)" in capsys.readouterr().out


def test_a_checkpoint_without_a_record_of_its_training_is_retrained(capsys):
    save_checkpoint("toy-model", model(), HISTORY)  # as saved before checkpoints recorded their settings
    trainer = Trainer()
    load_or_train("toy-model", model(), trainer, settings=SETTINGS)
    assert trainer.calls == 1 and "was trained differently" in capsys.readouterr().out


def test_a_training_run_that_disagrees_with_its_settings_is_not_saved():
    with pytest.raises(ValueError, match="training ran 3 epochs but settings say 2: give both the same number"):
        load_or_train("toy-model", model(), Trainer(epochs=3), settings=SETTINGS)
    assert not checkpoint_path("toy-model").exists()


def test_settings_that_cannot_be_recorded_are_refused():
    with pytest.raises(TypeError, match="cannot record a setting of type object"):
        load_or_train("toy-model", model(), Trainer(), settings={"epochs": 2, "thing": object()})
    with pytest.raises(ValueError, match="settings must be a non-empty dict"):
        load_or_train("toy-model", model(), Trainer(), settings={})


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
def test_a_damaged_checkpoint_is_reported_set_aside_and_retrained(capsys, artifacts, damage, reason):
    load_or_train("toy-model", model(), Trainer(), settings=SETTINGS)
    path = checkpoint_path("toy-model")
    damage(path)
    damaged = path.read_bytes()
    capsys.readouterr()
    trainer = Trainer()
    assert load_or_train("toy-model", model(), trainer, settings=SETTINGS).epochs == 2
    out = capsys.readouterr().out
    assert trainer.calls == 1
    note, saved = out.splitlines()
    assert note.startswith(f"{path} {reason}") and note.endswith(f"; set aside as {path}.damaged; training again.")
    assert saved.startswith("Saved the trained model")
    assert "weights_only=False" not in out and "this code ran" not in out
    assert (artifacts / "toy-model.pt.damaged").read_bytes() == damaged
    save_checkpoint("other", model(), HISTORY)
    damage(checkpoint_path("other"))
    with pytest.raises(DamagedCheckpointError, match=re.escape(reason)):
        load_checkpoint("other", model())


def test_loading_a_checkpoint_holding_code_never_suggests_weights_only_false():
    torch.save({"model": Malicious(), "history": {}}, checkpoint_path("toy-model"))
    with pytest.raises(DamagedCheckpointError) as caught:
        load_checkpoint("toy-model", model())
    assert "weights_only" not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_second_damaged_file_does_not_replace_the_first_one_set_aside(artifacts):
    for _ in range(2):
        checkpoint_path("toy-model").write_bytes(b"")
        load_or_train("toy-model", model(), Trainer(), settings=SETTINGS)
    assert (artifacts / "toy-model.pt.damaged").exists() and (artifacts / "toy-model.pt.damaged-2").exists()


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
