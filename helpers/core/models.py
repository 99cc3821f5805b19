"""The one builder of every network the course trains: a multilayer perceptron, configured by its arguments."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from helpers.core.checks import check_positive_int
from helpers.kernels.activations import torch_activation
from helpers.kernels.dropout import Dropout, check_drop_probability

INITS = ("default", "xavier", "kaiming")


def initialize_weights(model: nn.Module, init: str) -> nn.Module:
    """Re-initialize every `nn.Linear` of `model` in place and return it.

    - "default": leave PyTorch's own initialization, uniform in +-1/sqrt(fan_in).
    - "xavier": Glorot and Bengio (2010), normal with variance 2 / (fan_in + fan_out).
    - "kaiming": He et al. (2015) for ReLU, normal with variance 2 / fan_in.

    Xavier and Kaiming set the biases to zero.
    """
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    if init == "default":
        return model
    for module in model.modules():
        if isinstance(module, nn.Linear):
            if init == "xavier":
                nn.init.xavier_normal_(module.weight)
            else:
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    *,
    alpha: float | None = None,
    batch_norm: bool = False,
    dropout: float | None = None,
    init: str = "default",
    flatten: bool = True,
) -> nn.Sequential:
    """A multilayer perceptron with layer `sizes` `[inputs, hidden, ..., outputs]`, e.g. `[784, 64, 10]`.

    Each hidden layer is `nn.Linear`, an `nn.BatchNorm1d` if `batch_norm`, PyTorch's
    module for `activation` (a name from `helpers.kernels.activations`, with its
    `alpha`), and the from-scratch `Dropout(dropout)` unless `dropout` is None; the
    output layer is linear (raw class scores). `flatten` puts an `nn.Flatten` first, so
    images go in as they are. `init` then re-initializes the linear layers (see
    `initialize_weights`). Layers are built first to last: seed before calling it.
    """
    sizes = list(sizes)
    if len(sizes) < 3:
        raise ValueError(
            f"an MLP needs an input size, at least one hidden size and an output size, got {sizes}; "
            "for example [784, 64, 10]"
        )
    for index, size in enumerate(sizes):
        check_positive_int(f"sizes[{index}]", size, " (a number of units)")
    torch_activation(activation, alpha)  # fails early, with a suggestion, on an unknown name or a bad alpha
    if dropout is not None:
        check_drop_probability(dropout)
    layers: list[nn.Module] = [nn.Flatten()] if flatten else []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(n_in, n_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(torch_activation(activation, alpha))
        if dropout is not None:
            layers.append(Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return initialize_weights(nn.Sequential(*layers), init)
