"""Self-attention from scratch: every position of a sequence reads every other position in one step.

Each position asks a question (its query), compares it with what every position
offers (the keys), and takes a weighted average of their contents (the values),
with weights softmax(Q K^T / sqrt(d)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(query key^T / sqrt(d)) value, computed by hand; returns the output and the attention weights.

    Shapes: query (..., n_queries, d), key (..., n_keys, d), value (..., n_keys, d_value);
    the weights have shape (..., n_queries, n_keys) and each of their rows sums to 1.
    """
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
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


def self_attention(
    x: torch.Tensor, w_query: torch.Tensor, w_key: torch.Tensor, w_value: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of the sequence `x` (length, d_model) to itself: queries, keys and values are all projections of `x`."""
    for name, weight in (("w_query", w_query), ("w_key", w_key), ("w_value", w_value)):
        if weight.dim() != 2 or weight.shape[0] != x.shape[-1]:
            raise ValueError(
                f"{name} must be a matrix with {x.shape[-1]} rows (the feature size of x), got shape {tuple(weight.shape)}"
            )
    return scaled_dot_product_attention(x @ w_query, x @ w_key, x @ w_value)


def word_vectors(words: Sequence[str], dim: int, seed: int = 0) -> torch.Tensor:
    """One random vector of size `dim` per distinct word (standard normal, reproducible from `seed`), shape (len(words), dim).

    A repeated word gets the same vector each time, as a lookup table of embeddings would give.
    """
    if not words:
        raise ValueError("words is empty: pass a list of words, e.g. 'the cat sat'.split()")
    if dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    vocabulary = sorted(set(words))
    generator = torch.Generator().manual_seed(seed)
    table = torch.randn(len(vocabulary), dim, generator=generator)
    return table[[vocabulary.index(word) for word in words]]


def draw_attention_vs_recurrence(words: Sequence[str], weights: torch.Tensor) -> Figure:
    """Two ways to read a sentence: the steps an RNN needs between positions, and one step of attention weights."""
    n = len(words)
    if weights.shape != (n, n):
        raise ValueError(f"weights must have shape ({n}, {n}) for {n} words, got {tuple(weights.shape)}")
    position = torch.arange(n)
    distance = (position[:, None] - position[None, :]).float()
    steps = distance.masked_fill(distance < 0, float("nan"))

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2), layout="constrained")
    panels = (
        (left, steps.numpy(), "Greys", "RNN: steps from word j to word i", "steps"),
        (right, weights.detach().numpy(), "viridis", "Attention: weight word i gives word j", "attention weight"),
    )
    for axes, values, cmap, title, label in panels:
        shown = axes.imshow(values, cmap=cmap, vmin=0)
        figure.colorbar(shown, ax=axes, shrink=0.8, label=label)
        axes.set_xticks(position, words, rotation=60, fontsize=8)
        axes.set_yticks(position, words, fontsize=8)
        axes.set_title(title, fontsize=10)
        axes.set(xlabel="word j (read from)", ylabel="word i (being updated)")
    for i, j in zip(*torch.tril_indices(n, n).tolist()):
        left.text(j, i, int(i - j), ha="center", va="center", fontsize=7, color="k" if i - j < n / 2 else "w")
    left.text(n - 1, 0, "an RNN cannot\nread ahead", ha="right", va="top", fontsize=9)
    return figure
