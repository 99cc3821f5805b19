"""Tests for helpers.lessons.input_normalization: tinted digits, the outlier figure, the robust-scaling checker."""

import pytest
import torch
from notebook_code import solution_namespace

from helpers.kernels.normalization import MinMaxScaler, ZScoreScaler
from helpers.lessons.input_normalization import PALETTE, check_robust_scaling, plot_outlier_effect, tint_digits


def fake_digits(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(count, 1, 4, 4, generator=generator) * 0.8 + 0.1  # no pixel is exactly 0
    return images, torch.arange(count) % 10


def colour_names(images: torch.Tensor, tinted: torch.Tensor) -> list[str]:
    """Recover each image's colour by dividing the tinted image by the grey one."""
    by_value = {colour: name for name, colour in PALETTE.items()}
    colours = (tinted / images).mean(dim=(2, 3))
    return [by_value[tuple(round(c, 3) for c in colour.tolist())] for colour in colours]


def test_each_image_is_its_grey_image_times_one_palette_colour():
    images, labels = fake_digits(60)
    tinted = tint_digits(images, labels, red_digit=7, red_if_digit=0.5, red_if_other=0.1)
    assert tinted.shape == (60, 3, 4, 4)
    names = colour_names(images, tinted)
    for image, painted, name in zip(images, tinted, names):
        expected = image * torch.tensor(PALETTE[name])[:, None, None]
        assert torch.allclose(painted, expected)


def test_certain_rule_paints_exactly_the_red_digit_red():
    images, labels = fake_digits(100)
    names = colour_names(images, tint_digits(images, labels, red_digit=3, red_if_digit=1.0, red_if_other=0.0))
    assert [name == "red" for name in names] == (labels == 3).tolist()


def test_red_shares_follow_the_probabilities():
    images, labels = fake_digits(20_000)
    names = colour_names(images, tint_digits(images, labels, red_digit=7, red_if_digit=0.9, red_if_other=0.2, seed=5))
    red = torch.tensor([name == "red" for name in names])
    digit = labels == 7
    # 2000 sevens and 18000 others: five binomial standard deviations as tolerance
    assert abs(red[digit].float().mean().item() - 0.9) < 5 * (0.9 * 0.1 / 2000) ** 0.5
    assert abs(red[~digit].float().mean().item() - 0.2) < 5 * (0.2 * 0.8 / 18000) ** 0.5
    others = [name for name, is_red in zip(names, red) if not is_red]
    counts = torch.tensor([others.count(name) for name in PALETTE if name != "red"], dtype=torch.float)
    assert (counts / counts.sum() - 0.2).abs().max() < 0.02  # the five other colours equally often


def test_same_seed_same_colours_other_seed_other_colours():
    images, labels = fake_digits(50)
    first = tint_digits(images, labels, red_digit=1, red_if_digit=0.5, red_if_other=0.5, seed=1)
    assert torch.equal(first, tint_digits(images, labels, red_digit=1, red_if_digit=0.5, red_if_other=0.5, seed=1))
    assert not torch.equal(first, tint_digits(images, labels, red_digit=1, red_if_digit=0.5, red_if_other=0.5, seed=2))


def test_rejects_bad_input():
    images, labels = fake_digits(10)
    rule = dict(red_digit=7, red_if_digit=0.9, red_if_other=0.0)
    with pytest.raises(ValueError, match=r"grey-scale, of shape \(N, 1, H, W\)"):
        tint_digits(images[:, 0], labels, **rule)
    with pytest.raises(ValueError, match="pair up"):
        tint_digits(images, labels[:5], **rule)
    with pytest.raises(ValueError, match="red_digit must be a digit from 0 to 9"):
        tint_digits(images, labels, **{**rule, "red_digit": 10})
    with pytest.raises(ValueError, match=r"red_if_other is a probability and must lie in \[0, 1\]"):
        tint_digits(images, labels, **{**rule, "red_if_other": 1.5})


def views(values: torch.Tensor, outlier: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    data = torch.cat([values, torch.tensor([outlier])])
    return data, MinMaxScaler().fit(data).transform(data), ZScoreScaler().fit(data).transform(data)


def test_outlier_figure_shows_the_three_views_with_the_spans_of_the_other_values():
    values = torch.tensor([40.0, 45.0, 50.0, 55.0, 60.0])
    figure = plot_outlier_effect(*views(values, 1000.0))
    raw, min_max, z_score = figure.axes
    assert raw.get_title() == "raw values: others in [40, 60]"
    assert min_max.get_title() == f"min-max: others in [0, {20 / 960:.3g}]"
    data = torch.cat([values, torch.tensor([1000.0])])
    z = (data - data.mean()) / data.std(correction=0)
    assert z_score.get_title() == f"z-score: others in [{z[:-1].min():.3g}, {z[:-1].max():.3g}]"
    assert sum(patch.get_height() for patch in min_max.patches) == 5  # every other value is counted
    assert [line.get_xdata()[0] for line in min_max.lines] == [1.0]  # the outlier, at the top of [0, 1]
    assert z_score.lines[0].get_xdata()[0] == pytest.approx(z[-1].item())  # z = sqrt(5) lies in [-5, 5]
    assert not z_score.texts
    assert figure.get_suptitle() == "5 values around 50 and one outlier at 1000"


def test_outlier_figure_names_an_outlier_outside_the_z_window():
    values = torch.linspace(0, 1, 100)
    z_score = plot_outlier_effect(*views(values, 1e6)).axes[2]
    outlier_z = ZScoreScaler().fit(torch.cat([values, torch.tensor([1e6])])).transform(torch.tensor([1e6])).item()
    assert outlier_z > 5 and z_score.texts[0].get_text() == f"outlier at {outlier_z:.3g} \u2192"


def test_outlier_figure_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D tensor of at least two values and the outlier"):
        plot_outlier_effect(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="one value each per raw value"):
        plot_outlier_effect(torch.zeros(3), torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="finite numbers"):
        plot_outlier_effect(torch.zeros(3), torch.zeros(3), torch.tensor([0.0, float("inf"), 1.0]))


SOLUTION = solution_namespace("04-input-normalization", "my_robust_scale")["my_robust_scale"]


def test_the_reference_solution_passes_the_robust_scaling_check():
    feedback = check_robust_scaling(SOLUTION)
    assert feedback.passed, feedback.message


def robust_with(train, test, fit_on, centre, spread):
    return (train - centre(fit_on)) / spread(fit_on), (test - centre(fit_on)) / spread(fit_on)


def median(values):
    return values.quantile(0.5)  # torch.median takes the lower of the two middle values of an even count


def iqr(values):
    return values.quantile(0.75) - values.quantile(0.25)


def std(values):
    return values.std(correction=0)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda train, test: (SOLUTION(train, test)[0], SOLUTION(test, test)[1]), "scaled with its own statistics"),
        (
            lambda train, test: robust_with(train, test, torch.cat([train, test]), median, iqr),
            "The statistics include the test values",
        ),
        (lambda train, test: robust_with(train, test, train, median, std), "divided by the standard deviation"),
        (lambda train, test: robust_with(train, test, train, torch.mean, iqr), "subtract the median instead"),
        (lambda train, test: (train, test), "Take the median and the 25th and 75th percentiles"),
        (lambda train, test: None, "did you forget `return`?"),
    ],
)
def test_typical_mistakes_in_robust_scaling_earn_their_hint(wrong, hint):
    feedback = check_robust_scaling(wrong)
    assert not feedback.passed and hint in feedback.message, feedback.message


def test_per_pixel_statistics_are_named_on_the_image_case():
    def per_pixel(train, test):
        low, median, high = torch.quantile(train, torch.tensor([0.25, 0.5, 0.75]), dim=0)
        return (train - median) / (high - low), (test - median) / (high - low)

    feedback = check_robust_scaling(per_pixel)
    assert not feedback.passed and "one median and IQR per pixel" in feedback.message, feedback.message
