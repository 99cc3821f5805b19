"""Deep, narrow MLPs for MNIST whose depth, activation and weight initialization are one argument each."""

from __future__ import annotations

from torch import nn

from helpers.kernels.activations import torch_activation

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


def deep_mlp(
    depth: int,
    width: int,
    activation: str = "relu",
    init: str = "default",
    *,
    batch_norm: bool = False,
    in_features: int = 28 * 28,
    classes: int = 10,
) -> nn.Sequential:
    """Flatten, then `depth` hidden layers of `width` units, then a linear output layer of `classes` logits.

    Each hidden layer is `nn.Linear`, an optional `nn.BatchNorm1d`, and PyTorch's module
    for `activation` (a name from `helpers.kernels.activations`, e.g. "sigmoid", "tanh",
    "relu", "leaky_relu"). Seed before calling it for repeatable weights.
    """
    for name, value in (("depth", depth), ("width", width), ("in_features", in_features), ("classes", classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    torch_activation(activation)  # fails early, with a suggestion, on an unknown name
    layers: list[nn.Module] = [nn.Flatten()]
    features = in_features
    for _ in range(depth):
        layers.append(nn.Linear(features, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(torch_activation(activation))
        features = width
    layers.append(nn.Linear(features, classes))
    return initialize_weights(nn.Sequential(*layers), init)
