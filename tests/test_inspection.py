"""Tests for helpers.lessons.inspection: predictions, confusion matrix, mistakes and weight images."""

import pytest
import torch
from torch import nn

from helpers.lessons.inspection import (
    class_probabilities,
    confusion_matrix,
    most_confident_mistakes,
    plot_confusion_matrix,
    plot_first_layer_weights,
)


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
    probabilities = torch.tensor([
        [0.9, 0.1],  # predicts 0, true 0: right
        [0.6, 0.4],  # predicts 0, true 1: wrong, 0.6
        [0.2, 0.8],  # predicts 1, true 0: wrong, 0.8
        [0.05, 0.95],  # predicts 1, true 1: right
        [0.7, 0.3],  # predicts 0, true 1: wrong, 0.7
    ])
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
