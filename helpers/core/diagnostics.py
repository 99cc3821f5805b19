"""Per-layer health checks for any network, built on forward and backward hooks.

A *layer* is a weight-bearing module (`nn.Linear` or a convolution) together with the
first activation module that runs after it in the forward pass (a batch norm or
dropout in between is fine). For every layer the diagnostics report what its
activations look like and how large its weight gradient and weight update are:

    report = diagnose(model, images, labels)          # one batch, forward and backward
    print(format_report(report))

    with LayerMonitor(model, optimizer) as monitor:   # every training step
        fit(model, train, epochs=3, optimizer=optimizer)
    monitor.series("grad_norm", layer=0)              # first layer, step by step

Only passes run with gradients enabled are recorded, so `evaluate` (which runs
under `torch.no_grad`) leaves no trace in a monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import partial

import torch
from torch import Tensor, nn

from helpers.core.training import LossFunction, Run, fit
from helpers.kernels.activations import derivative, inactive_unit_fraction

WEIGHT_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Softplus,
    nn.Softsign,
    nn.Hardtanh,
    nn.Hardsigmoid,
    nn.Hardswish,
)
# Saturating activations: the name of their from-scratch derivative and its peak value.
SATURATING: dict[type[nn.Module], tuple[str, float]] = {nn.Sigmoid: ("sigmoid", 0.25), nn.Tanh: ("tanh", 1.0)}
# Activations that are flat (ReLU) or nearly flat (the others) for negative inputs.
RECTIFYING: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU)
SATURATION_SLOPE = 0.05


@dataclass(frozen=True)
class LayerStats:
    """What one layer looked like on one batch; `None` where a quantity does not apply or was not measured.

    - `mean`, `std`: of the activation's outputs over the whole batch.
    - `spread`: standard deviation across the samples of the batch, averaged over the
      units: how much the output still depends on the input (0: every input looks the same).
    - `saturated`: fraction of entries where the slope of a sigmoid or tanh has fallen
      below `SATURATION_SLOPE` (5 %) of its peak, so almost no gradient passes.
    - `dead`: fraction of units (features, or channels of a convolution) of a ReLU-like
      activation whose input is <= 0 for every sample of the batch.
    - `grad_norm`: L2 norm of the loss's gradient with respect to the layer's weight.
    - `grad_to_weight`: `grad_norm / weight_norm`.
    - `update_to_weight`: norm of the optimizer's change to the weight over norm of the weight before it.

    The two ratios are `None` for an all-zero weight, where they are undefined.
    """

    name: str
    activation: str
    weight_norm: float
    mean: float | None = None
    std: float | None = None
    spread: float | None = None
    saturated: float | None = None
    dead: float | None = None
    grad_norm: float | None = None
    grad_to_weight: float | None = None
    update_to_weight: float | None = None


FIELDS = tuple(f.name for f in fields(LayerStats))


def _check_activation_types(activation_types) -> tuple[type[nn.Module], ...]:
    types = tuple(activation_types) if isinstance(activation_types, (tuple, list)) else ()
    if not types or not all(isinstance(t, type) and issubclass(t, nn.Module) for t in types):
        raise TypeError(
            f"activation_types must be a non-empty tuple of nn.Module classes, e.g. (nn.ReLU, MyActivation); "
            f"got {activation_types!r}"
        )
    return types


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def saturated_fraction(module: nn.Module, pre_activation: Tensor) -> float | None:
    """Fraction of entries of `pre_activation` where a Sigmoid or Tanh `module` is saturated; None for others."""
    for kind, (name, peak) in SATURATING.items():
        if isinstance(module, kind):
            return (derivative(name, pre_activation) < SATURATION_SLOPE * peak).float().mean().item()
    return None


def dead_fraction(module: nn.Module, pre_activation: Tensor) -> float | None:
    """Fraction of units of a ReLU-like `module` whose input is <= 0 on the whole batch; None for others.

    Units are the features of a (batch, features) input or the channels of a
    convolution's (batch, channels, ...) input, where every position counts as a sample.
    """
    if not isinstance(module, RECTIFYING):
        return None
    if pre_activation.ndim < 2:
        raise ValueError(
            f"a {type(module).__name__} received an input of shape {tuple(pre_activation.shape)}; the diagnostics "
            "need a batch dimension first, (batch, units) or (batch, channels, ...)"
        )
    units = pre_activation.shape[1]
    return inactive_unit_fraction(pre_activation.transpose(0, 1).reshape(units, -1).T)


class LayerMonitor:
    """Hooks on a model (and optionally its optimizer) that record `LayerStats` for every training step.

    A step starts with each forward pass of `model` run with gradients enabled; its
    backward pass adds gradient norms, and `optimizer.step()` adds update ratios.
    `steps` holds one list of `LayerStats` per step, first layer first, and `layers`
    maps each layer's name to its module. Use it as a context manager, or call
    `remove()` to take the hooks off.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        activation_types: tuple[type[nn.Module], ...] = ACTIVATION_TYPES,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer (or None), got {type(optimizer).__name__}")
        activation_types = _check_activation_types(activation_types)
        self.layers = {name: m for name, m in model.named_modules() if isinstance(m, WEIGHT_TYPES)}
        if not self.layers:
            raise ValueError(
                "the model has no nn.Linear or convolution layer; the diagnostics report one row per such layer"
            )
        if optimizer is not None:
            optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
            if not any(id(m.weight) in optimized for m in self.layers.values()):
                raise ValueError(
                    "the optimizer holds none of the model's weights; pass the optimizer built on model.parameters()"
                )
        self.steps: list[list[LayerStats]] = []
        self._recording = False
        self._weights_before: dict[str, Tensor] = {}
        self._handles = [model.register_forward_pre_hook(self._start_step)]
        for name, module in model.named_modules():
            if isinstance(module, WEIGHT_TYPES):
                self._handles.append(module.register_forward_hook(partial(self._on_layer, name)))
                self._handles.append(module.weight.register_hook(partial(self._on_gradient, name)))
            elif isinstance(module, activation_types):
                self._handles.append(module.register_forward_hook(self._on_activation))
        if optimizer is not None:
            self._handles.append(optimizer.register_step_pre_hook(self._before_update))
            self._handles.append(optimizer.register_step_post_hook(self._after_update))

    # -- hooks ---------------------------------------------------------------------------------
    def _start_step(self, _module: nn.Module, _inputs: tuple) -> None:
        self._recording = torch.is_grad_enabled()
        if self._recording:
            self.steps.append([])

    def _row(self, name: str) -> int | None:
        rows = self.steps[-1] if self.steps else []
        return next((i for i, row in enumerate(rows) if row.name == name), None)

    def _on_layer(self, name: str, module: nn.Module, _inputs: tuple, _output: Tensor) -> None:
        if not self._recording:
            return
        if self._row(name) is not None:
            raise ValueError(
                f"layer {name!r} ran twice in one forward pass; the diagnostics expect each layer to run once"
            )
        self.steps[-1].append(LayerStats(name, "", module.weight.detach().norm().item()))

    def _on_activation(self, module: nn.Module, inputs: tuple, output: Tensor) -> None:
        rows = self.steps[-1] if self._recording and self.steps else []
        if not rows or rows[-1].activation:
            return  # an activation before the first layer, or a second one after the same layer
        x, y = inputs[0].detach(), output.detach()
        spread = y.std(dim=0, correction=0).mean().item() if y.ndim >= 2 else None
        rows[-1] = replace(
            rows[-1],
            activation=type(module).__name__,
            mean=y.mean().item(),
            std=y.std(correction=0).item(),
            spread=spread,
            saturated=saturated_fraction(module, x),
            dead=dead_fraction(module, x),
        )

    def _on_gradient(self, name: str, grad: Tensor) -> None:
        index = self._row(name)
        if index is not None:
            row = self.steps[-1][index]
            norm = grad.detach().norm().item()
            self.steps[-1][index] = replace(row, grad_norm=norm, grad_to_weight=_ratio(norm, row.weight_norm))

    def _before_update(self, *_args) -> None:
        self._weights_before = {name: m.weight.detach().clone() for name, m in self.layers.items()}

    def _after_update(self, *_args) -> None:
        rows = self.steps[-1] if self.steps else []
        for i, row in enumerate(rows):
            if row.update_to_weight is None and row.name in self._weights_before:
                before = self._weights_before[row.name]
                change = (self.layers[row.name].weight.detach() - before).norm().item()
                rows[i] = replace(row, update_to_weight=_ratio(change, before.norm().item()))
        self._weights_before = {}

    # -- results -------------------------------------------------------------------------------
    @property
    def latest(self) -> list[LayerStats]:
        """The `LayerStats` of the most recent step, first layer first."""
        if not self.steps:
            raise RuntimeError(
                "no step recorded yet: run the model on a batch, with gradients enabled, while the monitor is attached"
            )
        return self.steps[-1]

    def series(self, field: str, layer: int) -> list[float | None]:
        """The value of `field` (a `LayerStats` field) for layer number `layer` (0 = first), step by step."""
        if field not in FIELDS or field in ("name", "activation"):
            raise ValueError(f"unknown field {field!r}; choose one of {', '.join(FIELDS[2:])}")
        layers = len(self.latest)
        if not -layers <= layer < layers:
            raise ValueError(f"layer {layer} does not exist: the model has {layers} layers, numbered 0 to {layers - 1}")
        return [getattr(step[layer], field) for step in self.steps]

    def remove(self) -> None:
        """Take every hook off the model and the optimizer; recorded steps are kept."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> LayerMonitor:
        return self

    def __exit__(self, *_exc) -> None:
        self.remove()


def diagnose(
    model: nn.Module,
    inputs: Tensor,
    targets: Tensor,
    *,
    loss_fn: LossFunction = nn.functional.cross_entropy,
    activation_types: tuple[type[nn.Module], ...] = ACTIVATION_TYPES,
) -> list[LayerStats]:
    """`LayerStats` of every layer of `model` on one batch: a forward and a backward pass, no update.

    The gradients are computed with `torch.autograd.grad`, so the model's `.grad`
    fields are left untouched; the model's train/eval mode is used as it is.
    """
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise ValueError(
            f"need a non-empty batch with one target per input, got {len(inputs)} inputs and {len(targets)} targets"
        )
    with LayerMonitor(model, activation_types=activation_types) as monitor:
        with torch.enable_grad():
            loss = loss_fn(model(inputs), targets)
            if loss.ndim != 0:
                raise ValueError(f"loss_fn must return a single number (a 0-d tensor), got shape {tuple(loss.shape)}")
            weights = [m.weight for m in monitor.layers.values() if m.weight.requires_grad]
            torch.autograd.grad(loss, weights, allow_unused=True)
    return monitor.latest


@torch.no_grad()
def activation_outputs(
    model: nn.Module, inputs: Tensor, *, activation_types: tuple[type[nn.Module], ...] = ACTIVATION_TYPES
) -> dict[str, Tensor]:
    """The output of every activation module of `model` on `inputs`, by module name, in the order they ran."""
    activation_types = _check_activation_types(activation_types)
    outputs: dict[str, Tensor] = {}
    modules = {m: name for name, m in model.named_modules() if isinstance(m, activation_types)}
    if not modules:
        raise ValueError(
            "the model has no activation module (nn.Sigmoid, nn.ReLU, ...); pass activation_types for others"
        )
    handles = [m.register_forward_hook(lambda m, _i, y: outputs.setdefault(modules[m], y.detach())) for m in modules]
    try:
        model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def format_report(report: list[LayerStats]) -> str:
    """A fixed-width table of a report, one line per layer; '-' where a value does not apply."""
    columns = {
        "mean": "mean",
        "std": "std",
        "spread": "spread",
        "saturated": "saturated",
        "dead": "dead",
        "grad_norm": "grad norm",
        "grad_to_weight": "grad/weight",
        "update_to_weight": "update/weight",
    }

    def cell(value: float | None) -> str:
        return f"{'-':>14}" if value is None else f"{value:>14.3g}"

    lines = [f"{'layer':<8}{'activation':<12}" + "".join(f"{title:>14}" for title in columns.values())]
    for row in report:
        lines.append(f"{row.name:<8}{row.activation or '-':<12}" + "".join(cell(getattr(row, c)) for c in columns))
    return "\n".join(lines)


def train_monitored(
    label: str,
    model: nn.Module,
    train: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor],
    *,
    lr: float,
    epochs: int,
    seed: int = 0,
) -> Run:
    """Train `model` with plain SGD (no momentum) while a `LayerMonitor` records every step; returns the `Run`.

    Plain SGD moves each weight in proportion to its gradient, so a vanished
    gradient shows as a layer that does not move (Adam would rescale it).
    """
    if not lr > 0:
        raise ValueError(f"lr must be a positive learning rate, got {lr!r}")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with LayerMonitor(model, optimizer) as monitor:
        history = fit(model, train, epochs=epochs, val=val, optimizer=optimizer, seed=seed)
    return Run(model, history, label, monitor)
