"""Tests for helpers.lessons.classifying_digits: the lecture's MNIST recipe and its in-memory twin."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset

from helpers.core.data import IMAGE_PIXELS, MNISTDataError
from helpers.core.models import mlp
from helpers.core.training import History, evaluate
from helpers.lessons.classifying_digits import (
    LECTURE_HISTORY,
    LECTURE_LAYERS,
    class_probabilities,
    confusion_matrix,
    evaluate_with_loader,
    fit_in_loader_order,
    fit_with_loader,
    flat_mnist,
    lecture_comparison,
    lecture_datasets,
    lecture_loaders,
    loader_shuffle_generator,
    most_confident_mistakes,
    plot_confusion_matrix,
    plot_first_layer_weights,
    train_val_split,
)


def lecture_network(hidden_units=LECTURE_LAYERS[1]):
    return mlp([IMAGE_PIXELS, hidden_units, 10], batch_norm=True, flatten=False)


def toy_data(samples=230, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(samples, IMAGE_PIXELS, generator=generator)
    labels = torch.randint(0, 10, (samples,), generator=generator)
    return images, labels


def test_flat_mnist_holds_what_the_lecture_transform_gives():
    _, test_set = lecture_datasets()
    images, labels = flat_mnist(train=False)
    assert images.shape == (len(test_set), IMAGE_PIXELS) and images.dtype == torch.float32
    for i in (0, 1234, len(test_set) - 1):
        image, label = test_set[i]
        assert torch.equal(images[i], image)
        assert labels[i].item() == label


def test_lecture_loaders_shuffle_training_only():
    train_loader, test_loader = lecture_loaders(batch_size=64)
    assert train_loader.batch_size == 64 and isinstance(train_loader.sampler, RandomSampler)
    assert isinstance(test_loader.sampler, SequentialSampler)
    inputs, labels = next(iter(test_loader))
    assert inputs.shape == (64, IMAGE_PIXELS) and labels.shape == (64,)


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


@pytest.mark.slow  # trains twice through a DataLoader
def test_tensor_path_in_loader_order_matches_the_dataloader_path():
    images, labels = toy_data()
    loader = DataLoader(TensorDataset(images, labels), batch_size=50, shuffle=True)  # 230: last batch is short

    def train(fit_path):
        torch.manual_seed(7)
        model = lecture_network(hidden_units=16)
        history = fit_path(model, torch.optim.Adam(model.parameters()))
        return model, history

    model_a, history_a = train(lambda m, opt: fit_with_loader(m, loader, epochs=3, optimizer=opt))
    model_b, history_b = train(
        lambda m, opt: fit_in_loader_order(m, (images, labels), epochs=3, optimizer=opt, batch_size=50)
    )
    assert history_a.epochs == 3
    assert history_a.train_loss == pytest.approx(history_b.train_loss, rel=1e-6)
    assert history_a.train_accuracy == history_b.train_accuracy
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_evaluate_with_loader_matches_evaluate_on_tensors():
    images, labels = toy_data()
    torch.manual_seed(0)
    model = lecture_network(hidden_units=16)
    model.train()
    result = evaluate_with_loader(model, DataLoader(TensorDataset(images, labels), batch_size=64))
    assert not model.training
    expected = evaluate(model, images, labels)
    assert result.loss == pytest.approx(expected.loss, rel=1e-6)
    assert result.accuracy == expected.accuracy


def test_fit_with_loader_wraps_each_epochs_batches_and_counts_every_sample():
    images, labels = toy_data(samples=120)
    loader = DataLoader(TensorDataset(images, labels), batch_size=50)
    model = lecture_network(hidden_units=8)
    seen = []

    def batches(iterable, epoch):
        seen.append(epoch)
        return iterable

    history = fit_with_loader(
        model, loader, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), batches=batches
    )
    assert seen == [1, 2]
    loss, accuracy = history.train_loss[-1], history.train_accuracy[-1]
    assert loss > 0 and 0 <= accuracy <= 1
    assert accuracy * len(labels) == pytest.approx(round(accuracy * len(labels)))


def test_loader_loops_reject_bad_input():
    model = lecture_network(hidden_units=8)
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(TypeError, match="expected a torch DataLoader"):
        fit_with_loader(model, toy_data(), epochs=1, optimizer=optimizer)
    empty = DataLoader(TensorDataset(torch.zeros(0, IMAGE_PIXELS), torch.zeros(0, dtype=torch.long)))
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
    with pytest.raises(ValueError, match="10 inputs but 9 labels: they must pair up one to one"):
        train_val_split(torch.zeros(10, 3), torch.zeros(9), val_size=2)


def test_lecture_comparison_pairs_each_epoch():
    run = History(train_loss=[0.5, 0.25], train_accuracy=[0.9, 0.95])
    table = lecture_comparison(run).splitlines()
    assert len(table) == 2 + run.epochs
    assert table[2] == (
        f"| 1 | {LECTURE_HISTORY.train_loss[0]:.4f} | 0.5000 | {LECTURE_HISTORY.train_accuracy[0]:.4f} | 0.9000 |"
    )
    assert LECTURE_HISTORY.epochs == 20
    with pytest.raises(ValueError, match="no epochs yet"):
        lecture_comparison(History())


def test_class_probabilities_are_the_softmax_of_the_outputs_in_eval_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Dropout(0.5), nn.Linear(5, 3))
    images = torch.randn(25, 6)
    probabilities = class_probabilities(model, images, batch_size=4)
    assert not model.training
    with torch.no_grad():
        expected = nn.functional.softmax(model(images), dim=1)
    torch.testing.assert_close(probabilities, expected)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(25))


def test_class_probabilities_reject_no_images():
    with pytest.raises(ValueError, match="no images to classify"):
        class_probabilities(nn.Linear(3, 2), torch.zeros(0, 3))


def test_confusion_matrix_counts_every_pair():
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 4, (200,), generator=generator)
    predictions = torch.randint(0, 4, (200,), generator=generator)
    matrix = confusion_matrix(labels, predictions, classes=4)
    expected = torch.zeros(4, 4, dtype=torch.long)
    for true, predicted in zip(labels.tolist(), predictions.tolist()):
        expected[true, predicted] += 1
    assert torch.equal(matrix, expected)
    assert matrix.trace() == (labels == predictions).sum()


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D and of the same length"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match="predictions must be class numbers from 0 to 9, found 0 to 10"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 10]))


def test_most_confident_mistakes_ranks_wrong_predictions_by_confidence():
    probabilities = torch.tensor(
        [
            [0.9, 0.1],  # predicts 0, true 0: right
            [0.6, 0.4],  # predicts 0, true 1: wrong, 0.6
            [0.2, 0.8],  # predicts 1, true 0: wrong, 0.8
            [0.05, 0.95],  # predicts 1, true 1: right
            [0.7, 0.3],  # predicts 0, true 1: wrong, 0.7
        ]
    )
    labels = torch.tensor([0, 1, 0, 1, 1])
    assert most_confident_mistakes(probabilities, labels, count=2).tolist() == [2, 4]
    assert most_confident_mistakes(probabilities, labels, count=10).tolist() == [2, 4, 1]


def test_most_confident_mistakes_rejects_bad_input():
    with pytest.raises(ValueError, match="one row per label"):
        most_confident_mistakes(torch.rand(3, 2), torch.tensor([0, 1]), count=1)
    with pytest.raises(ValueError, match="count must be at least 1"):
        most_confident_mistakes(torch.rand(2, 2), torch.tensor([0, 1]), count=0)


def test_plot_confusion_matrix_writes_every_count():
    matrix = torch.arange(9).reshape(3, 3)
    figure = plot_confusion_matrix(matrix)
    axes = figure.axes[0]
    assert sorted(int(text.get_text()) for text in axes.texts) == list(range(9))
    assert axes.get_xlabel() == "predicted digit" and axes.get_ylabel() == "true digit"
    assert axes.images[0].get_array()[1, 1] == 0  # colour shows mistakes only
    with pytest.raises(ValueError, match="must be square"):
        plot_confusion_matrix(torch.zeros(2, 3))


def test_plot_first_layer_weights_draws_each_unit_on_a_symmetric_scale():
    weight = torch.randn(10, 784)
    figure = plot_first_layer_weights(weight, units=6, columns=4)
    images = [axes.images[0] for axes in figure.axes if axes.images]
    assert len(images) == 6
    for unit, image in enumerate(images):
        low, high = image.get_clim()
        assert low == -high == pytest.approx(-weight[unit].abs().max().item())
        assert torch.equal(torch.as_tensor(image.get_array().data), weight[unit].reshape(28, 28))


def test_plot_first_layer_weights_rejects_bad_input():
    with pytest.raises(ValueError, match=r"shape \(hidden units, 784\), got \(10, 100\)"):
        plot_first_layer_weights(torch.zeros(10, 100))
    with pytest.raises(ValueError, match="units must lie between 1 and 10"):
        plot_first_layer_weights(torch.zeros(10, 784), units=11)
