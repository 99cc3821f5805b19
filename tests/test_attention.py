"""Tests for helpers.kernels.attention: from-scratch attention against PyTorch's own."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.kernels.attention import scaled_dot_product_attention, self_attention, word_vectors


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_matches_torch_scaled_dot_product_attention(batch):
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(*batch, 4, 8, generator=generator)
    key = torch.randn(*batch, 6, 8, generator=generator)
    value = torch.randn(*batch, 6, 5, generator=generator)
    output, weights = scaled_dot_product_attention(query, key, value)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(query, key, value))
    assert weights.shape == (*batch, 4, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(*batch, 4))


def test_gradients_match_torch_scaled_dot_product_attention():
    generator = torch.Generator().manual_seed(1)
    tensors = [torch.randn(5, 4, generator=generator, requires_grad=True) for _ in range(3)]
    upstream = torch.randn(5, 4, generator=generator)
    ours = torch.autograd.grad((scaled_dot_product_attention(*tensors)[0] * upstream).sum(), tensors)
    reference = torch.autograd.grad((F.scaled_dot_product_attention(*tensors) * upstream).sum(), tensors)
    for mine, theirs in zip(ours, reference):
        torch.testing.assert_close(mine, theirs)


def test_self_attention_matches_one_head_of_multihead_attention():
    torch.manual_seed(2)
    d = 6
    x = torch.randn(7, d)
    w_query, w_key, w_value = (torch.randn(d, d) for _ in range(3))
    layer = nn.MultiheadAttention(embed_dim=d, num_heads=1, bias=False)
    with torch.no_grad():
        layer.in_proj_weight.copy_(torch.cat([w_query.T, w_key.T, w_value.T]))  # nn.Linear stores W transposed
        layer.out_proj.weight.copy_(torch.eye(d))
        expected_output, expected_weights = layer(x, x, x, need_weights=True)
    output, weights = self_attention(x, w_query, w_key, w_value)
    torch.testing.assert_close(output, expected_output)
    torch.testing.assert_close(weights, expected_weights)


def test_every_position_can_read_the_whole_sequence_at_once():
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
    _, weights = self_attention(x, *(torch.eye(3),) * 3)
    assert (weights > 0).all()  # no position is out of reach, however far away


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((4, 8), (4, 7), (4, 7)), "same feature size"),
        (((4, 8), (5, 8), (6, 8)), "one row per position"),
        (((8,), (4, 8), (4, 8)), "at least 2-D"),
    ],
)
def test_mismatched_shapes_are_rejected(shapes, message):
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(*(torch.rand(shape) for shape in shapes))


def test_self_attention_rejects_weights_of_the_wrong_size():
    with pytest.raises(ValueError, match="w_key must be a matrix with 4 rows"):
        self_attention(torch.rand(3, 4), torch.rand(4, 2), torch.rand(5, 2), torch.rand(4, 2))


def test_word_vectors_repeat_for_repeated_words():
    words = "the cat saw the dog".split()
    vectors = word_vectors(words, dim=4, seed=5)
    assert vectors.shape == (5, 4)
    torch.testing.assert_close(vectors[0], vectors[3])
    assert not torch.allclose(vectors[1], vectors[2])
    torch.testing.assert_close(vectors, word_vectors(words, dim=4, seed=5))


def test_word_vectors_reject_bad_input():
    with pytest.raises(ValueError, match="words is empty"):
        word_vectors([], dim=4)
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        word_vectors(["a"], dim=0)
