"""Tests for helpers.lessons.classifying_digits: the lecture's MNIST recipe and its in-memory twin."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset

from helpers.core.data import MNISTDataError
from helpers.lessons.classifying_digits import (
    IMAGE_SIZE,
    LECTURE_HISTORY,
    evaluate_with_loader,
    fit_in_loader_order,
    fit_with_loader,
    flat_mnist,
    lecture_comparison,
    lecture_datasets,
    lecture_loaders,
    lecture_mlp,
    loader_shuffle_generator,
    train_epoch_with_loader,
    train_val_split,
)
from helpers.core.training import History, evaluate


def toy_data(samples=230, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(samples, IMAGE_SIZE, generator=generator)
    labels = torch.randint(0, 10, (samples,), generator=generator)
    return images, labels


def test_lecture_mlp_has_the_lectures_layers():
    model = lecture_mlp(hidden_units=7, classes=3)
    kinds = [type(layer) for layer in model]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert model[0].weight.shape == (7, IMAGE_SIZE) and model[3].weight.shape == (3, 7)
    expected = (IMAGE_SIZE + 1) * 7 + 2 * 7 + (7 + 1) * 3
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model(torch.rand(5, IMAGE_SIZE)).shape == (5, 3)


@pytest.mark.parametrize("kwargs", [{"hidden_units": 0}, {"hidden_units": 2.5}, {"classes": True}])
def test_lecture_mlp_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        lecture_mlp(**kwargs)


def test_flat_mnist_holds_what_the_lecture_transform_gives():
    _, test_set = lecture_datasets()
    images, labels = flat_mnist(train=False)
    assert images.shape == (len(test_set), IMAGE_SIZE) and images.dtype == torch.float32
    for i in (0, 1234, len(test_set) - 1):
        image, label = test_set[i]
        assert torch.equal(images[i], image)
        assert labels[i].item() == label


def test_lecture_loaders_shuffle_training_only():
    train_loader, test_loader = lecture_loaders(batch_size=64)
    assert train_loader.batch_size == 64 and isinstance(train_loader.sampler, RandomSampler)
    assert isinstance(test_loader.sampler, SequentialSampler)
    inputs, labels = next(iter(test_loader))
    assert inputs.shape == (64, IMAGE_SIZE) and labels.shape == (64,)


def test_missing_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DLF_DATA_DIR", str(tmp_path))
    with pytest.raises(MNISTDataError, match="MNIST file missing: .*train-images-idx3-ubyte.gz"):
        lecture_loaders()
    with pytest.raises(MNISTDataError, match="MNIST file missing"):
        flat_mnist(train=False)


def test_lecture_loaders_reject_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        lecture_loaders(batch_size=0)


def test_loader_shuffle_generator_follows_a_shuffling_dataloader():
    loader = DataLoader(TensorDataset(torch.arange(500)), batch_size=64, shuffle=True)
    torch.manual_seed(3)
    from_loader = [torch.cat([batch for (batch,) in loader]) for _ in range(3)]
    state_after_loader = torch.get_rng_state()
    torch.manual_seed(3)
    ours = [torch.randperm(500, generator=loader_shuffle_generator()) for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(from_loader, ours))
    assert not torch.equal(from_loader[0], from_loader[1])
    assert torch.equal(torch.get_rng_state(), state_after_loader)


def test_tensor_path_in_loader_order_matches_the_dataloader_path():
    images, labels = toy_data()
    loader = DataLoader(TensorDataset(images, labels), batch_size=50, shuffle=True)  # 230: last batch is short

    def train(fit_path):
        torch.manual_seed(7)
        model = lecture_mlp(hidden_units=16)
        history = fit_path(model, torch.optim.Adam(model.parameters()))
        return model, history

    model_a, history_a = train(lambda m, opt: fit_with_loader(m, loader, epochs=3, optimizer=opt))
    model_b, history_b = train(lambda m, opt: fit_in_loader_order(m, (images, labels), epochs=3, optimizer=opt,
                                                                  batch_size=50))
    assert history_a.epochs == 3
    assert history_a.train_loss == pytest.approx(history_b.train_loss, rel=1e-6)
    assert history_a.train_accuracy == history_b.train_accuracy
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_evaluate_with_loader_matches_evaluate_on_tensors():
    images, labels = toy_data()
    torch.manual_seed(0)
    model = lecture_mlp(hidden_units=16)
    model.train()
    loss, accuracy = evaluate_with_loader(model, DataLoader(TensorDataset(images, labels), batch_size=64))
    assert not model.training
    expected_loss, expected_accuracy = evaluate(model, images, labels)
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    assert accuracy == expected_accuracy


def test_train_epoch_with_loader_wraps_batches_and_counts_every_sample():
    images, labels = toy_data(samples=120)
    loader = DataLoader(TensorDataset(images, labels), batch_size=50)
    model = lecture_mlp(hidden_units=8)
    seen = []

    def batches(iterable, epoch):
        seen.append(epoch)
        return iterable

    loss, accuracy = train_epoch_with_loader(model, loader, torch.optim.SGD(model.parameters(), lr=0.1),
                                             batches=batches, epoch=4)
    assert seen == [4]
    assert loss > 0 and 0 <= accuracy <= 1
    assert accuracy * len(labels) == pytest.approx(round(accuracy * len(labels)))


def test_loader_loops_reject_bad_input():
    model = lecture_mlp(hidden_units=8)
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(TypeError, match="expected a torch DataLoader"):
        train_epoch_with_loader(model, toy_data(), optimizer)
    empty = DataLoader(TensorDataset(torch.zeros(0, IMAGE_SIZE), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="dataset is empty"):
        evaluate_with_loader(model, empty)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        fit_with_loader(model, DataLoader(TensorDataset(*toy_data())), epochs=0, optimizer=optimizer)


def test_train_val_split_is_a_reproducible_partition():
    images = torch.arange(100).float().unsqueeze(1)
    labels = torch.arange(100)
    (train_x, train_y), (val_x, val_y) = train_val_split(images, labels, val_size=20, seed=5)
    assert len(train_y) == 80 and len(val_y) == 20
    assert torch.equal(train_x.squeeze(1).long(), train_y) and torch.equal(val_x.squeeze(1).long(), val_y)
    assert sorted(torch.cat([train_y, val_y]).tolist()) == list(range(100))
    (_, again), _ = train_val_split(images, labels, val_size=20, seed=5)
    (_, other), _ = train_val_split(images, labels, val_size=20, seed=6)
    assert torch.equal(again, train_y) and not torch.equal(other, train_y)


def test_train_val_split_rejects_bad_input():
    with pytest.raises(ValueError, match="val_size must lie between 1 and 9"):
        train_val_split(torch.zeros(10, 3), torch.zeros(10), val_size=10)
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        train_val_split(torch.zeros(10, 3), torch.zeros(9), val_size=2)


def test_lecture_comparison_pairs_each_epoch():
    run = History(train_loss=[0.5, 0.25], train_accuracy=[0.9, 0.95])
    table = lecture_comparison(run).splitlines()
    assert len(table) == 2 + run.epochs
    assert table[2] == (f"| 1 | {LECTURE_HISTORY.train_loss[0]:.4f} | 0.5000 "
                        f"| {LECTURE_HISTORY.train_accuracy[0]:.4f} | 0.9000 |")
    assert LECTURE_HISTORY.epochs == 20
    with pytest.raises(ValueError, match="no epochs yet"):
        lecture_comparison(History())
