"""Activation functions written from scratch, each with its derivative worked out by hand.

Every function here has a twin in `torch.nn` (see `torch_activation`) and the
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
from numbers import Real

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn


@dataclass(frozen=True)
class Activation:
    """An activation function, its derivative, and what its `alpha` means (if it has one)."""

    name: str
    title: str
    function: Callable[[Tensor, float], Tensor]
    derivative: Callable[[Tensor, float], Tensor]
    module: Callable[[float], nn.Module]
    alpha_default: float | None = None
    alpha_valid: Callable[[float], bool] = lambda alpha: True
    alpha_rule: str = ""


def _sigmoid(x: Tensor, _alpha: float) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-x))


def _sigmoid_derivative(x: Tensor, alpha: float) -> Tensor:
    s = _sigmoid(x, alpha)
    return s * (1.0 - s)


def _tanh(x: Tensor, _alpha: float) -> Tensor:
    return 2.0 * _sigmoid(2.0 * x, _alpha) - 1.0


def _tanh_derivative(x: Tensor, alpha: float) -> Tensor:
    return 1.0 - _tanh(x, alpha) ** 2


def _leaky(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, x, alpha * x)


def _leaky_derivative(x: Tensor, alpha: float) -> Tensor:
    # At exactly 0 we take the left slope, as PyTorch does.
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))


def _elu(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))


def _elu_derivative(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0.0)))


def _normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _gelu(x: Tensor, _alpha: float) -> Tensor:
    return x * _normal_cdf(x)


def _gelu_derivative(x: Tensor, _alpha: float) -> Tensor:
    density = torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return _normal_cdf(x) + x * density


def _silu(x: Tensor, alpha: float) -> Tensor:
    return x * _sigmoid(x, alpha)


def _silu_derivative(x: Tensor, alpha: float) -> Tensor:
    s = _sigmoid(x, alpha)
    return s * (1.0 + x * (1.0 - s))


def _slope_ok(alpha: float) -> bool:
    return 0.0 <= alpha < 1.0


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("sigmoid", "Sigmoid", _sigmoid, _sigmoid_derivative, lambda _: nn.Sigmoid()),
        Activation("tanh", "Tanh", _tanh, _tanh_derivative, lambda _: nn.Tanh()),
        Activation("relu", "ReLU", lambda x, _: torch.where(x > 0, x, torch.zeros_like(x)),
                   lambda x, _: _leaky_derivative(x, 0.0), lambda _: nn.ReLU()),
        Activation("leaky_relu", "Leaky ReLU", _leaky, _leaky_derivative, lambda a: nn.LeakyReLU(a),
                   alpha_default=0.01, alpha_valid=_slope_ok,
                   alpha_rule="a slope for negative inputs with 0 <= alpha < 1"),
        Activation("prelu", "PReLU", _leaky, _leaky_derivative, lambda a: nn.PReLU(init=a),
                   alpha_default=0.25, alpha_valid=_slope_ok,
                   alpha_rule="a starting slope for negative inputs with 0 <= alpha < 1"),
        Activation("elu", "ELU", _elu, _elu_derivative, lambda a: nn.ELU(alpha=a),
                   alpha_default=1.0, alpha_valid=lambda a: a > 0,
                   alpha_rule="the level -alpha that negative inputs saturate to, with alpha > 0"),
        Activation("gelu", "GELU", _gelu, _gelu_derivative, lambda _: nn.GELU()),
        Activation("silu", "SiLU (swish)", _silu, _silu_derivative, lambda _: nn.SiLU()),
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


def _resolve_alpha(spec: Activation, alpha: float | None) -> float:
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
    """Apply the activation `name` to `x` (with parameter `alpha` where it has one)."""
    spec = get_activation(name)
    return spec.function(x, _resolve_alpha(spec, alpha))


def derivative(name: str, x: Tensor, alpha: float | None = None) -> Tensor:
    """The hand-written derivative of the activation `name` at every element of `x`."""
    spec = get_activation(name)
    return spec.derivative(x, _resolve_alpha(spec, alpha))


def autograd_derivative(name: str, x: Tensor, alpha: float | None = None) -> Tensor:
    """The same derivative computed by autograd through `activate`, for checking the hand-written one."""
    x = x.detach().clone().requires_grad_(True)
    activate(name, x, alpha).sum().backward()
    return x.grad


def torch_activation(name: str, alpha: float | None = None) -> nn.Module:
    """PyTorch's own module for the activation `name`, configured with the same `alpha`."""
    spec = get_activation(name)
    return spec.module(_resolve_alpha(spec, alpha))


def plot_activation(name: str, alpha: float | None = None, *, span: float = 5.0) -> Figure:
    """The activation and its derivative side by side; autograd's derivative dotted over the analytic one."""
    if isinstance(span, bool) or not isinstance(span, Real) or not 0 < span < math.inf:
        raise ValueError(f"span must be a positive number (the plot covers -span to span), got {span!r}")
    spec = get_activation(name)
    name, alpha = canonical_parameters(name, alpha)
    alpha = None if alpha is None else _resolve_alpha(spec, alpha)
    x = torch.linspace(-span, span, 401)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    label = spec.title + (f" (alpha = {alpha:g})" if alpha is not None else "")
    left.plot(x, activate(name, x, alpha), color="C0", lw=2)
    left.set(title=label, xlabel="x", ylabel="f(x)", ylim=(-1.6, span))
    right.plot(x, derivative(name, x, alpha), color="C1", lw=2, label="analytic")
    sample = x[::20]
    right.plot(sample, autograd_derivative(name, sample, alpha), "k.", ms=5, label="autograd")
    right.set(title=f"Derivative of {spec.title}", xlabel="x", ylabel="f'(x)", ylim=(-0.2, 1.3))
    right.legend(loc="upper left")
    for axis in (left, right):
        axis.axhline(0, color="grey", lw=0.6)
        axis.axvline(0, color="grey", lw=0.6)
        axis.grid(alpha=0.3)
    return figure


def inactive_unit_fraction(pre_activation: Tensor) -> float:
    """Fraction of units whose input is <= 0 for every sample of a batch.

    `pre_activation` has shape (batch, units): what the layer feeds into its
    activation. For ReLU such a unit is dead: it outputs 0 and passes back a
    gradient of 0 for all these inputs, so gradient descent cannot revive it.
    Leaky ReLU, PReLU and ELU still pass back a gradient there.
    """
    if pre_activation.ndim != 2 or pre_activation.shape[0] == 0:
        raise ValueError(
            f"pre_activation must have shape (batch, units) with a non-empty batch, got {tuple(pre_activation.shape)}"
        )
    return (pre_activation <= 0).all(dim=0).float().mean().item()
