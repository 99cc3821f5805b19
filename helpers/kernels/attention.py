"""Self-attention from scratch: every position of a sequence reads every other position in one step.

Each position asks a question (its query), compares it with what every position
offers (the keys), and takes a weighted average of their contents (the values),
with weights softmax(Q K^T / sqrt(d)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from helpers.core.checks import check_positive_int, checked


def check_query_key_value(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, **_) -> None:
    """At least 2-D each, queries and keys of one feature size, one value row per key."""
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise ValueError("query, key and value must each be at least 2-D: (sequence length, features)")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"query and key must have the same feature size to be compared, got {query.shape[-1]} and {key.shape[-1]}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"key and value must have one row per position each, got {key.shape[-2]} and {value.shape[-2]} rows"
        )


def check_projections(x: torch.Tensor, w_query: torch.Tensor, w_key: torch.Tensor, w_value: torch.Tensor) -> None:
    """Each projection a matrix with one row per feature of `x`."""
    for name, weight in (("w_query", w_query), ("w_key", w_key), ("w_value", w_value)):
        if weight.dim() != 2 or weight.shape[0] != x.shape[-1]:
            raise ValueError(
                f"{name} must be a matrix with {x.shape[-1]} rows (the feature size of x), got shape {tuple(weight.shape)}"
            )


@checked(check_query_key_value)
def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(query key^T / sqrt(d)) value, computed by hand; returns the output and the attention weights.

    Shapes: query (..., n_queries, d), key (..., n_keys, d), value (..., n_keys, d_value);
    the weights have shape (..., n_queries, n_keys) and each of their rows sums to 1.
    """
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


@checked(check_projections)
def self_attention(
    x: torch.Tensor, w_query: torch.Tensor, w_key: torch.Tensor, w_value: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of the sequence `x` (length, d_model) to itself: queries, keys and values are all projections of `x`."""
    return scaled_dot_product_attention(x @ w_query, x @ w_key, x @ w_value)


def word_vectors(words: Sequence[str], dim: int, seed: int = 0) -> torch.Tensor:
    """One random vector of size `dim` per distinct word (standard normal, reproducible from `seed`), shape (len(words), dim).

    A repeated word gets the same vector each time, as a lookup table of embeddings would give.
    """
    if not words:
        raise ValueError("words is empty: pass a list of words, e.g. 'the cat sat'.split()")
    check_positive_int("dim", dim)
    vocabulary = sorted(set(words))
    generator = torch.Generator().manual_seed(seed)
    table = torch.randn(len(vocabulary), dim, generator=generator)
    return table[[vocabulary.index(word) for word in words]]
