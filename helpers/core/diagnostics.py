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

from dataclasses import dataclass, fields
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
    weight_norm: float | None
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


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def _saturated_fractions(module: nn.Module, pre_activations: Tensor) -> Tensor | None:
    """`saturated_fraction` of each input in a stack of them (the first dimension), as one tensor."""
    for kind, (name, peak) in SATURATING.items():
        if isinstance(module, kind):
            return (derivative(name, pre_activations) < SATURATION_SLOPE * peak).flatten(1).float().mean(dim=1)
    return None


def saturated_fraction(module: nn.Module, pre_activation: Tensor) -> float | None:
    """Fraction of entries of `pre_activation` where a Sigmoid or Tanh `module` is saturated; None for others."""
    fractions = _saturated_fractions(module, pre_activation.unsqueeze(0))
    return None if fractions is None else fractions.item()


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
    if pre_activation.ndim > 2:  # every position of a channel is one more sample of it
        pre_activation = pre_activation.transpose(0, 1).flatten(1).T
    return inactive_unit_fraction(pre_activation)


@dataclass(frozen=True)
class _Activation:
    """An activation that ran in the forward pass being recorded; it is measured when the pass ends."""

    layer: str
    module: nn.Module
    inputs: Tensor
    outputs: Tensor
    versions: tuple[int, int]  # of `inputs` and `outputs` when it ran, to detect a later change in place


class LayerMonitor:
    """Hooks on a model (and optionally its optimizer) that record `LayerStats` for every training step.

    A step starts with each forward pass of `model` run with gradients enabled; its
    backward pass adds gradient norms, and `optimizer.step()` adds update ratios.
    `steps` holds one list of `LayerStats` per step, first layer first, and `layers`
    maps each layer's name to its module. Use it as a context manager, or call
    `remove()` to take the hooks off.

    Measurements stay tensors until they are read: activations of one kind and
    shape are measured together when the forward pass ends, and a step's numbers
    are copied to Python in one transfer (not one per number, each of which would
    make a GPU wait). The one exception is the dead fraction of a ReLU-like layer,
    which the course's `inactive_unit_fraction` reads back as it runs.
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
        self._steps: list[list[LayerStats]] = []
        self._recording = False
        # The latest step: for each layer that ran, in order, its values by LayerStats field ...
        self._step: dict[str, dict[str, str | float | None]] = {}
        # ... and those still to be read back: the (layer, field) of each element of a 1-d tensor.
        self._unread: list[tuple[list[tuple[str, str]], Tensor]] = []
        self._activations: list[_Activation] = []
        self._weights_before: list[Tensor] = []
        self._handles = [
            model.register_forward_pre_hook(self._start_step),
            model.register_forward_hook(self._end_forward),
        ]
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
            self._read_back()
            self._steps.append([])
            self._step, self._activations = {}, []

    def _record(self, keys: list[tuple[str, str]], values: Tensor) -> None:
        self._unread.append((keys, values.reshape(len(keys))))

    def _on_layer(self, name: str, module: nn.Module, _inputs: tuple, _output: Tensor) -> None:
        if not self._recording:
            return
        if name in self._step:
            raise ValueError(
                f"layer {name!r} ran twice in one forward pass; the diagnostics expect each layer to run once"
            )
        self._step[name] = {"activation": ""}

    def _on_activation(self, module: nn.Module, inputs: tuple, output: Tensor) -> None:
        if not self._recording or not self._step:
            return  # not training, or an activation before the first layer
        layer, values = next(reversed(self._step.items()))
        if values["activation"]:
            return  # a second activation after the same layer
        x, y = inputs[0].detach(), output.detach()
        values.update(activation=type(module).__name__, dead=dead_fraction(module, x))
        self._activations.append(_Activation(layer, module, x, y, (x._version, y._version)))

    def _end_forward(self, _module: nn.Module, _inputs: tuple, _output: object) -> None:
        """Measure the weights of the layers that ran, and their activations, a few operations per kind and shape."""
        if not self._recording:
            return
        # torch._foreach_*: one call for a list of tensors, as torch.optim uses them; the same numbers as one by one
        self._record([(name, "weight_norm") for name in self._step], torch.stack(torch._foreach_norm(self._weights())))
        groups: dict[tuple, list[_Activation]] = {}
        for activation in self._activations:
            if (activation.inputs._version, activation.outputs._version) != activation.versions:
                raise ValueError(
                    f"the activation after layer {activation.layer!r} had its input or output changed in place later "
                    "in the forward pass (by a module built with inplace=True?); the monitor measures activations "
                    "when the pass ends, so build the model without inplace=True"
                )
            key = (type(activation.module), activation.inputs.shape, activation.outputs.shape)
            groups.setdefault(key, []).append(activation)
        for group in groups.values():
            layers = [activation.layer for activation in group]
            outputs = torch.stack([activation.outputs for activation in group])  # (layers, batch, ...)
            flat = outputs.flatten(1)
            measured = {"mean": flat.mean(dim=1), "std": flat.std(dim=1, correction=0)}
            if outputs.ndim >= 3:  # a batch dimension: how much the outputs vary across its samples
                measured["spread"] = outputs.std(dim=1, correction=0).flatten(1).mean(dim=1)
            saturated = _saturated_fractions(group[0].module, torch.stack([activation.inputs for activation in group]))
            if saturated is not None:
                measured["saturated"] = saturated
            for field, values in measured.items():
                self._record([(layer, field) for layer in layers], values)
        self._activations = []

    def _on_gradient(self, name: str, grad: Tensor) -> None:
        if name in self._step:
            self._record([(name, "grad_norm")], torch.linalg.vector_norm(grad.detach()))

    def _weights(self) -> list[Tensor]:
        """The weights of the layers of the latest step, in the order they ran."""
        return [self.layers[name].weight.detach() for name in self._step]

    def _before_update(self, *_args) -> None:
        self._weights_before = [weight.clone() for weight in self._weights()]

    def _after_update(self, *_args) -> None:
        if self._weights_before:
            changes = torch._foreach_sub(self._weights(), self._weights_before)
            self._record([(name, "update_norm") for name in self._step], torch.stack(torch._foreach_norm(changes)))
            before = torch.stack(torch._foreach_norm(self._weights_before))
            self._record([(name, "norm_before_update") for name in self._step], before)
        self._weights_before = []

    # -- results -------------------------------------------------------------------------------
    def _read_back(self) -> None:
        """Copy the latest step's measurements to Python in one transfer and make its `LayerStats`."""
        if not self._unread:
            return
        numbers = torch.cat([values for _, values in self._unread]).tolist()
        keys = [key for pending, _ in self._unread for key in pending]
        for (layer, field), number in zip(keys, numbers):
            self._step[layer][field] = number  # a second backward pass or update in one step replaces the first
        self._unread = []
        rows = []
        for name, values in self._step.items():
            rows.append(
                LayerStats(
                    name,
                    values["activation"],
                    values.get("weight_norm"),  # None only when read from inside the forward pass
                    **{field: values.get(field) for field in ("mean", "std", "spread", "saturated", "dead")},
                    grad_norm=values.get("grad_norm"),
                    grad_to_weight=_ratio(values.get("grad_norm"), values.get("weight_norm")),
                    update_to_weight=_ratio(values.get("update_norm"), values.get("norm_before_update")),
                )
            )
        self._steps[-1] = rows

    @property
    def steps(self) -> list[list[LayerStats]]:
        """One list of `LayerStats` per recorded step, first layer first."""
        self._read_back()
        return self._steps

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
