"""The image grid: layout, grey versus colour drawing, titles and row labels, bad input."""

import pytest
import torch
from matplotlib.figure import Figure

from helpers.core.figures import plot_image_grid


def test_grey_images_fill_a_grid_row_by_row_with_titles_and_row_labels():
    images = torch.rand(5, 1, 6, 6)
    figure = plot_image_grid(images, titles=list("abcde"), row_labels=["first", "second"], columns=3, title="T")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 6  # 2 rows of 3; the last cell stays empty
    assert [axes.get_title() for axes in figure.axes] == ["a", "b", "c", "d", "e", ""]
    assert [figure.axes[i].get_ylabel() for i in (0, 3)] == ["first", "second"]
    assert torch.equal(torch.tensor(figure.axes[4].images[0].get_array().data), images[4, 0])
    assert not figure.axes[5].images
    assert figure.get_suptitle() == "T"


def test_colour_images_are_drawn_as_rgb():
    images = torch.rand(2, 3, 6, 6)
    figure = plot_image_grid(images, columns=2)
    drawn = figure.axes[1].images[0].get_array()
    assert drawn.shape == (6, 6, 3)
    assert torch.allclose(torch.tensor(drawn.data), images[1].permute(1, 2, 0))


def test_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\) or \(N, 3, H, W\)"):
        plot_image_grid(torch.rand(2, 2, 6, 6))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*before normalizing"):
        plot_image_grid(torch.rand(2, 1, 6, 6) - 0.5)
    with pytest.raises(ValueError, match="one title per image"):
        plot_image_grid(torch.rand(2, 1, 6, 6), titles=["only one"])
    with pytest.raises(ValueError, match="the grid has 1 rows but 2 row labels"):
        plot_image_grid(torch.rand(2, 1, 6, 6), row_labels=["a", "b"])
    with pytest.raises(ValueError, match="columns must be at least 1"):
        plot_image_grid(torch.rand(2, 1, 6, 6), columns=0)
