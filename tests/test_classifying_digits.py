"""Tests for helpers.lessons.classifying_digits and the code notebook 07 shows: the lecture's MNIST recipe,
its in-memory twin, backpropagation by hand, and the figures that look inside the model."""

import pytest
import torch
from notebook_code import code_cells, top_level_definitions
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import Compose, Lambda, ToTensor

from helpers.core.data import IMAGE_PIXELS, MNISTDataError, mnist
from helpers.core.models import mlp
from helpers.core.training import History, tensor_batches, train_batches
from helpers.lessons.classifying_digits import (
    LECTURE_HISTORY,
    LECTURE_LAYERS,
    class_probabilities,
    confusion_matrix,
    flat_mnist,
    lecture_comparison,
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
    test_set = mnist(train=False, transform=Compose([ToTensor(), Lambda(torch.flatten)]))  # the lecture's
    images, labels = flat_mnist(train=False)
    assert images.shape == (len(test_set), IMAGE_PIXELS) and images.dtype == torch.float32
    for i in (0, 1234, len(test_set) - 1):
        image, label = test_set[i]
        assert torch.equal(images[i], image)
        assert labels[i].item() == label


def test_missing_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DLF_DATA_DIR", str(tmp_path))
    with pytest.raises(MNISTDataError, match="MNIST file missing: .*train-images-idx3-ubyte.gz"):
        flat_mnist(train=False)


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


def test_the_tensor_path_in_loader_order_trains_exactly_as_the_dataloader():
    images, labels = toy_data()
    loader = DataLoader(TensorDataset(images, labels), batch_size=50, shuffle=True)  # 230: last batch is short

    def train(batches):
        torch.manual_seed(7)
        model = lecture_network(hidden_units=16)
        optimizer = torch.optim.Adam(model.parameters())
        results = [train_batches(model, batches(), optimizer) for _ in range(3)]
        return model, results

    model_a, results_a = train(lambda: loader)
    model_b, results_b = train(
        lambda: tensor_batches(images, labels, 50, shuffle=True, generator=loader_shuffle_generator())
    )
    assert results_a == results_b
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        assert torch.equal(a, b)


def forward_backward():
    """The hand-derived backward pass that notebook 07 shows, run from the notebook's own cell."""
    sources = [
        source for source in code_cells("07-classifying-digits") if "forward_backward" in top_level_definitions(source)
    ]
    assert len(sources) == 1, "07 defines forward_backward in one cell"
    scope = {"torch": torch, "nn": nn}
    exec(compile(sources[0], "<07 forward_backward>", "exec"), scope)
    return scope["forward_backward"]


@pytest.mark.parametrize(
    "batch, hidden, dtype", [(100, 100, torch.float32), (7, 5, torch.float64), (2, 3, torch.float64)]
)
def test_backpropagation_by_hand_matches_autograd(batch, hidden, dtype):
    torch.manual_seed(batch)
    model = mlp([IMAGE_PIXELS, hidden, 10], batch_norm=True, flatten=False).to(dtype)
    with torch.no_grad():  # a batch norm scale and shift away from their starting values 1 and 0
        model[1].weight.uniform_(0.5, 2.0)
        model[1].bias.uniform_(-1.0, 1.0)
    images, labels = torch.rand(batch, IMAGE_PIXELS, dtype=dtype), torch.randint(0, 10, (batch,))
    loss, gradients = forward_backward()(model, images, labels)
    expected = nn.functional.cross_entropy(model(images), labels)
    expected.backward()
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}
    torch.testing.assert_close(loss, expected.detach(), **tolerance)
    assert len(gradients) == len(list(model.parameters()))
    for gradient, parameter in zip(gradients, model.parameters()):
        torch.testing.assert_close(gradient, parameter.grad, **tolerance)


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
    probabilities = class_probabilities(model, images)
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
    figure = plot_first_layer_weights(weight, units=6)
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
