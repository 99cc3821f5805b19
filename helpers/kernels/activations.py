"""Activation functions written from scratch, each with its derivative worked out by hand.

The bare kernels (`sigmoid`, `sigmoid_derivative`, `leaky_relu`, ...) are the maths
alone; `activate(name, x, alpha)` and `derivative(name, x, alpha)` are the checked
entry points that notebooks call. Every function here has a twin in `torch.nn` (see `torch_activation`) and the
tests check both the values and the hand-written derivatives against it and
against autograd. `alpha` is the one parameter some of them take: the slope
for negative inputs (Leaky ReLU, PReLU's starting value) or the saturation
level for negative inputs (ELU).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from helpers.core.checks import checked


@dataclass(frozen=True)
class Activation:
    """An activation function, its derivative, and what its `alpha` means (if it has one).

    `function` and `derivative` take `(x)`, or `(x, alpha)` where `alpha_default` is set.
    """

    name: str
    title: str
    function: Callable[..., Tensor]
    derivative: Callable[..., Tensor]
    module: Callable[[float], nn.Module]
    alpha_default: float | None = None
    alpha_valid: Callable[[float], bool] = lambda alpha: True
    alpha_rule: str = ""


def sigmoid(x: Tensor) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-x))


def sigmoid_derivative(x: Tensor) -> Tensor:
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: Tensor) -> Tensor:
    return 2.0 * sigmoid(2.0 * x) - 1.0


def tanh_derivative(x: Tensor) -> Tensor:
    return 1.0 - tanh(x) ** 2


def relu(x: Tensor) -> Tensor:
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_derivative(x: Tensor) -> Tensor:
    # At exactly 0 we take the left slope, 0, as PyTorch does.
    return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))


def leaky_relu(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, x, alpha * x)


def leaky_relu_derivative(x: Tensor, alpha: float) -> Tensor:
    # At exactly 0 we take the left slope, as PyTorch does.
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))


def elu(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))


def elu_derivative(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0.0)))


def normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu(x: Tensor) -> Tensor:
    return x * normal_cdf(x)


def gelu_derivative(x: Tensor) -> Tensor:
    density = torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return normal_cdf(x) + x * density


def silu(x: Tensor) -> Tensor:
    return x * sigmoid(x)


def silu_derivative(x: Tensor) -> Tensor:
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def _slope_ok(alpha: float) -> bool:
    return 0.0 <= alpha < 1.0


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("sigmoid", "Sigmoid", sigmoid, sigmoid_derivative, lambda _: nn.Sigmoid()),
        Activation("tanh", "Tanh", tanh, tanh_derivative, lambda _: nn.Tanh()),
        Activation("relu", "ReLU", relu, relu_derivative, lambda _: nn.ReLU()),
        Activation(
            "leaky_relu",
            "Leaky ReLU",
            leaky_relu,
            leaky_relu_derivative,
            lambda a: nn.LeakyReLU(a),
            alpha_default=0.01,
            alpha_valid=_slope_ok,
            alpha_rule="a slope for negative inputs with 0 <= alpha < 1",
        ),
        Activation(
            "prelu",
            "PReLU",
            leaky_relu,
            leaky_relu_derivative,
            lambda a: nn.PReLU(init=a),
            alpha_default=0.25,
            alpha_valid=_slope_ok,
            alpha_rule="a starting slope for negative inputs with 0 <= alpha < 1",
        ),
        Activation(
            "elu",
            "ELU",
            elu,
            elu_derivative,
            lambda a: nn.ELU(alpha=a),
            alpha_default=1.0,
            alpha_valid=lambda a: a > 0,
            alpha_rule="the level -alpha that negative inputs saturate to, with alpha > 0",
        ),
        Activation("gelu", "GELU", gelu, gelu_derivative, lambda _: nn.GELU()),
        Activation("silu", "SiLU (swish)", silu, silu_derivative, lambda _: nn.SiLU()),
    ]
}
ACTIVATION_NAMES = tuple(ACTIVATIONS)


def get_activation(name: str) -> Activation:
    """The activation called `name` (one of `ACTIVATION_NAMES`), or a clear error."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    guess = difflib.get_close_matches(str(name).lower().replace("-", "_"), ACTIVATION_NAMES, n=1)
    hint = f" Did you mean {guess[0]!r}?" if guess else ""
    raise ValueError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATION_NAMES)}.{hint}")


def resolve_alpha(spec: Activation, alpha: float | None) -> float:
    """`alpha` checked for the activation `spec` (its default where None); 0.0 for one that takes none."""
    if spec.alpha_default is None:
        if alpha is not None:
            raise ValueError(f"{spec.title} has no parameter, but alpha={alpha} was given; leave alpha out.")
        return 0.0
    alpha = spec.alpha_default if alpha is None else float(alpha)
    if not (math.isfinite(alpha) and spec.alpha_valid(alpha)):
        raise ValueError(f"alpha={alpha} is not valid for {spec.title}: alpha is {spec.alpha_rule}.")
    return alpha


def canonical_parameters(name: str, alpha: float | None = None) -> tuple[str, float | None]:
    """`(name, alpha)` with alpha dropped where the activation has none: what its curve depends on."""
    return name, alpha if get_activation(name).alpha_default is not None else None


def activate(name: str, x: Tensor, alpha: float | None = None) -> Tensor:
    """Apply the activation `name` to `x` (with parameter `alpha` where it has one), after checking both."""
    spec = get_activation(name)
    alpha = resolve_alpha(spec, alpha)
    return spec.function(x) if spec.alpha_default is None else spec.function(x, alpha)


def derivative(name: str, x: Tensor, alpha: float | None = None) -> Tensor:
    """The hand-written derivative of the activation `name` at every element of `x`, after checking both."""
    spec = get_activation(name)
    alpha = resolve_alpha(spec, alpha)
    return spec.derivative(x) if spec.alpha_default is None else spec.derivative(x, alpha)


def autograd_derivative(name: str, x: Tensor, alpha: float | None = None) -> Tensor:
    """The same derivative computed by autograd through `activate`, for checking the hand-written one."""
    x = x.detach().clone().requires_grad_(True)
    activate(name, x, alpha).sum().backward()
    return x.grad


def torch_activation(name: str, alpha: float | None = None) -> nn.Module:
    """PyTorch's own module for the activation `name`, configured with the same `alpha`."""
    spec = get_activation(name)
    return spec.module(resolve_alpha(spec, alpha))


def check_pre_activation(pre_activation: Tensor, **_) -> None:
    """A (batch, units) tensor with at least one sample."""
    if not isinstance(pre_activation, Tensor) or pre_activation.ndim != 2 or pre_activation.shape[0] == 0:
        shape = tuple(pre_activation.shape) if isinstance(pre_activation, Tensor) else type(pre_activation).__name__
        raise ValueError(f"pre_activation must have shape (batch, units) with a non-empty batch, got {shape}")


@checked(check_pre_activation)
def inactive_unit_fraction(pre_activation: Tensor) -> float:
    """Fraction of units whose input is <= 0 for every sample (row) of `pre_activation`, shape (batch, units).

    Fed the training set, this is the course's test for a dead ReLU unit: it outputs 0
    and passes back a gradient of 0 for every training input, so gradient descent
    cannot revive it. Leaky ReLU, PReLU and ELU units in that state still pass back a
    gradient: they are inactive, not dead.
    """
    return (pre_activation <= 0).all(dim=0).float().mean().item()
