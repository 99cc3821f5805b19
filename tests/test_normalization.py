"""Min-max and z-score scalers: known values, torch.nn agreement, constant features, outliers, misuse."""

import pytest
import torch
from torch import nn
from torchvision.transforms import v2

from helpers.kernels.normalization import MinMaxScaler, NotFittedError, ZScoreScaler


@pytest.fixture
def data() -> torch.Tensor:
    return torch.randn(50, 6, generator=torch.Generator().manual_seed(0)) * 3 + 7


def test_min_max_known_values_global_and_per_feature():
    x = torch.tensor([[0.0, 10.0], [5.0, 20.0], [10.0, 30.0]])
    assert torch.equal(MinMaxScaler().fit(x).transform(x), x / 30)
    expected = torch.tensor([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]])
    assert torch.equal(MinMaxScaler(per_feature=True).fit(x).transform(x), expected)


def test_z_score_known_values():
    x = torch.tensor([1.0, 3.0, 5.0, 7.0])  # mean 4, population std sqrt(5)
    assert torch.allclose(ZScoreScaler().fit(x).transform(x), (x - 4) / 5**0.5)


def test_per_feature_z_score_matches_batch_norm_in_training_mode(data):
    reference = nn.BatchNorm1d(data.shape[1], affine=False, eps=1e-12).train()(data)
    assert torch.allclose(ZScoreScaler(per_feature=True).fit(data).transform(data), reference, atol=1e-5)


def test_global_z_score_of_one_channel_images_matches_batch_norm_2d():
    images = torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    reference = nn.BatchNorm2d(1, affine=False, eps=1e-12).train()(images)
    assert torch.allclose(ZScoreScaler().fit(images).transform(images), reference, atol=1e-5)


def test_global_z_score_matches_torchvision_normalize():
    images = torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    mean, std = images.mean().item(), images.std(correction=0).item()
    reference = v2.Normalize([mean], [std])(images)
    assert torch.allclose(ZScoreScaler().fit(images).transform(images), reference, atol=1e-5)


def test_training_data_lands_in_the_promised_range(data):
    scaled = MinMaxScaler(per_feature=True).fit(data).transform(data)
    assert torch.allclose(scaled.min(dim=0).values, torch.zeros(6))
    assert torch.allclose(scaled.max(dim=0).values, torch.ones(6))
    scaled = ZScoreScaler(per_feature=True).fit(data).transform(data)
    assert torch.allclose(scaled.mean(dim=0), torch.zeros(6), atol=1e-5)
    assert torch.allclose(scaled.std(dim=0, correction=0), torch.ones(6), atol=1e-5)


@pytest.mark.parametrize("scaler_type", [MinMaxScaler, ZScoreScaler])
def test_other_data_uses_the_training_statistics(scaler_type, data):
    scaler = scaler_type(per_feature=True).fit(data[:40])
    held_out = data[40:]
    expected = (held_out - scaler.shift) / scaler.scale  # no constant feature in this data
    assert torch.equal(scaler.transform(held_out), expected)
    assert not torch.allclose(
        scaler.transform(held_out), scaler_type(per_feature=True).fit(held_out).transform(held_out)
    )


@pytest.mark.parametrize("scaler_type", [MinMaxScaler, ZScoreScaler])
def test_constant_features_are_only_shifted(scaler_type, data):
    data[:, 2] = 4.0
    scaler = scaler_type(per_feature=True).fit(data)
    assert (scaler.scale == 0).tolist() == [False, False, True, False, False, False]
    assert torch.equal(scaler.transform(data)[:, 2], torch.zeros(len(data)))
    new = torch.full((1, 6), 9.0)
    assert scaler.transform(new)[0, 2].item() == 5.0  # its raw distance from the constant, not a division by 0


@pytest.mark.parametrize("scaler_type", [MinMaxScaler, ZScoreScaler])
def test_an_all_constant_input_gives_zeros(scaler_type):
    x = torch.full((5, 3), 2.5)
    assert torch.equal(scaler_type().fit(x).transform(x), torch.zeros(5, 3))


def test_an_outlier_squeezes_min_max_more_than_z_score():
    values = torch.randn(200, generator=torch.Generator().manual_seed(3)) * 10 + 50
    with_outlier = torch.cat([values, torch.tensor([5000.0])])
    squeezed = MinMaxScaler().fit(with_outlier).transform(values).std()
    spread = ZScoreScaler().fit(with_outlier).transform(values).std()
    # Both are linear maps: the others' spreads differ exactly by range / std of the data with the outlier.
    ratio = (with_outlier.max() - with_outlier.min()) / with_outlier.std(correction=0)
    assert torch.allclose(spread / squeezed, ratio, rtol=1e-4)
    assert spread > 10 * squeezed
    assert MinMaxScaler().fit(with_outlier).transform(values).max() < 0.03


@pytest.mark.parametrize("scaler_type", [MinMaxScaler, ZScoreScaler])
def test_refuses_to_transform_before_fitting(scaler_type):
    with pytest.raises(NotFittedError, match=r"has not been fitted: call \.fit"):
        scaler_type().transform(torch.zeros(3, 2))


def test_transform_fits_in_a_v2_pipeline(data):
    scaler = ZScoreScaler().fit(data)
    pipeline = v2.Compose([v2.Lambda(lambda x: x), scaler.transform])
    assert torch.equal(pipeline(data), scaler.transform(data))


def test_rejects_integer_nan_and_empty_inputs():
    with pytest.raises(TypeError, match=r"floating-point tensor.*\.float\(\)"):
        ZScoreScaler().fit(torch.arange(6).reshape(3, 2))
    with pytest.raises(TypeError, match="floating-point tensor"):
        MinMaxScaler().fit([1.0, 2.0])
    with pytest.raises(ValueError, match="NaN or infinite"):
        MinMaxScaler().fit(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="at least one sample"):
        ZScoreScaler().fit(torch.zeros(0, 4))
    with pytest.raises(TypeError, match="True or False"):
        ZScoreScaler(per_feature="yes")


def test_rejects_samples_shaped_unlike_the_training_set():
    scaler = ZScoreScaler(per_feature=True).fit(torch.rand(10, 1, 4, 4))
    with pytest.raises(ValueError, match=r"fitted per feature on samples of shape \(1, 4, 4\).*reshape"):
        scaler.transform(torch.rand(10, 16))
    with pytest.raises(TypeError, match="needs a tensor"):
        scaler.transform([[0.0]])


def test_fit_learns_the_named_statistics_and_returns_the_scaler():
    x = torch.tensor([[1.0, 0.0, 3.0], [3.0, 0.0, 5.0]])
    scaler = MinMaxScaler(per_feature=True)
    assert scaler.fit(x) is scaler
    assert scaler.shift.tolist() == [1.0, 0.0, 3.0] and scaler.scale.tolist() == [2.0, 0.0, 2.0]
    z = ZScoreScaler().fit(x)
    assert z.shift.item() == 2.0 and torch.isclose(z.scale, x.std(correction=0))


def test_the_guards_leave_the_shown_code_bare():
    assert MinMaxScaler.fit.bare.__doc__.startswith("Learn the minimum and the range")
    assert ZScoreScaler.transform.__name__ == "transform"
