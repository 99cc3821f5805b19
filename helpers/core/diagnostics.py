"""Per-layer health checks for any MLP, built on hooks: the monitor that notebook 03 writes in the open.

A *layer* is an `nn.Linear` together with the first activation module that runs after
it in the forward pass (a batch norm or dropout in between is fine). For every layer
the diagnostics report what its activation puts out and how large its weight gradient
and weight update are:

    print(format_report(diagnose(model, images, labels)))   # one batch, forward and backward

    with LayerMonitor(model, optimizer) as monitor:         # every training step
        fit(model, train, epochs=3, optimizer=optimizer)
    monitor.series("grad_norm", layer=0)                    # the first layer, step by step

`activation_statistics`, `LayerMonitor`, `diagnose` and `train_monitored` are shown in
notebook 03, *Vanishing gradients*, and kept identical to these by `tests/test_shown_code.py`.
Only passes run with gradients enabled are recorded, so `evaluate` (which runs under
`torch.no_grad`) leaves no trace in a monitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from helpers.core.checks import checked
from helpers.core.training import Run, fit
from helpers.kernels.activations import derivative, inactive_unit_fraction

ACTIVATION_TYPES = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU)
# Saturating activations: the name of their from-scratch derivative and its peak value.
SATURATING = {nn.Sigmoid: ("sigmoid", 0.25), nn.Tanh: ("tanh", 1.0)}
# Activations that are flat (ReLU) or nearly flat (the others) for negative inputs.
RECTIFYING = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU)
SATURATION_SLOPE = 0.05


@dataclass
class LayerStats:
    """What one layer looked like on one batch; `None` where a quantity does not apply or was not measured.

    - `mean`, `std`: of the activation's outputs over the whole batch.
    - `spread`: standard deviation across the samples of the batch, averaged over the
      units: how much the output still depends on the input (0: every input looks the same).
    - `saturated`: fraction of entries where the slope of a sigmoid or tanh has fallen
      below `SATURATION_SLOPE` (5 %) of its peak, so almost no gradient passes.
    - `dead`: fraction of units of a ReLU-like activation whose input is <= 0 for every sample.
    - `grad_norm`, `update_norm`: L2 norms of the loss's gradient with respect to the layer's
      weight, and of the optimizer's change to it; the ratios divide them by `weight_norm`
      (`None` for an all-zero weight, where they are undefined).
    """

    name: str
    activation: str = ""  # the activation module's class name; "" for the output layer
    weight_norm: float | None = None
    mean: float | None = None
    std: float | None = None
    spread: float | None = None
    saturated: float | None = None
    dead: float | None = None
    grad_norm: float | None = None
    update_norm: float | None = None

    @property
    def grad_to_weight(self) -> float | None:
        return self.grad_norm / self.weight_norm if self.grad_norm is not None and self.weight_norm else None

    @property
    def update_to_weight(self) -> float | None:
        return self.update_norm / self.weight_norm if self.update_norm is not None and self.weight_norm else None


FIELDS = ("mean", "std", "spread", "saturated", "dead", "grad_norm", "grad_to_weight", "update_to_weight")


def saturated_fraction(module, pre_activation):
    """Fraction of entries of `pre_activation` where a Sigmoid or Tanh `module` is saturated; None for others."""
    for kind, (name, peak) in SATURATING.items():
        if isinstance(module, kind):
            return (derivative(name, pre_activation) < SATURATION_SLOPE * peak).float().mean().item()
    return None


def dead_fraction(module, pre_activation):
    """`inactive_unit_fraction` of a ReLU-like `module`'s (batch, units) input; None for other activations."""
    return inactive_unit_fraction(pre_activation) if isinstance(module, RECTIFYING) else None


def activation_statistics(module, pre_activation, output):
    """What an activation `module` made of a batch: the `LayerStats` fields measured in the forward pass."""
    return {
        "mean": output.mean().item(),
        "std": output.std(correction=0).item(),
        "spread": output.std(dim=0, correction=0).mean().item(),  # across the batch, unit by unit
        "saturated": saturated_fraction(module, pre_activation),
        "dead": dead_fraction(module, pre_activation),
    }


class LayerMonitor:
    """Hooks that record one `LayerStats` per `nn.Linear` of `model` at every training step.

    The forward pass measures each layer's weight and the activation after it, the
    backward pass the weight's gradient, and `optimizer.step()` (if an optimizer is
    given) the change to the weight. `steps` holds a list of `LayerStats` per step,
    first layer first. Use it in a `with` block, which takes the hooks off at the end.
    """

    def __init__(self, model, optimizer=None):
        self.layers = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
        self.steps = []  # per training step, a list of LayerStats
        self.rows = {}  # the current step's LayerStats by layer name
        self.handles = [model.register_forward_pre_hook(self.start_step)]
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear):
                self.handles.append(module.register_forward_hook(partial(self.on_layer, name)))
                self.handles.append(module.weight.register_hook(partial(self.on_gradient, name)))
            elif isinstance(module, ACTIVATION_TYPES):
                self.handles.append(module.register_forward_hook(self.on_activation))
        if optimizer is not None:
            self.handles.append(optimizer.register_step_pre_hook(self.before_update))
            self.handles.append(optimizer.register_step_post_hook(self.after_update))

    def start_step(self, model, inputs):
        self.recording = torch.is_grad_enabled()  # training; evaluation runs under torch.no_grad()
        if self.recording:
            self.rows = {}
            self.steps.append([])

    def on_layer(self, name, layer, inputs, output):
        if self.recording:
            self.rows[name] = LayerStats(name, weight_norm=layer.weight.norm().item())
            self.steps[-1].append(self.rows[name])

    def on_activation(self, module, inputs, output):
        if self.recording and self.rows:
            row = self.steps[-1][-1]  # the layer that ran last
            if not row.activation:  # the first activation after it
                row.activation = type(module).__name__
                for field, value in activation_statistics(module, inputs[0].detach(), output.detach()).items():
                    setattr(row, field, value)

    def on_gradient(self, name, gradient):
        if name in self.rows:
            self.rows[name].grad_norm = gradient.norm().item()

    def before_update(self, optimizer, args, kwargs):
        self.before = {name: self.layers[name].weight.detach().clone() for name in self.rows}

    def after_update(self, optimizer, args, kwargs):
        for name, before in self.before.items():
            self.rows[name].update_norm = (self.layers[name].weight.detach() - before).norm().item()

    def series(self, field, layer):
        """`field` of layer number `layer` (0 = first), step by step."""
        return [getattr(step[layer], field) for step in self.steps]

    def __enter__(self):
        return self

    def __exit__(self, *_exception):
        for handle in self.handles:
            handle.remove()


def check_linear_model(model, **_) -> None:
    """A `torch.nn.Module` with at least one `nn.Linear`: the layers the diagnostics report on."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(isinstance(module, nn.Linear) for module in model.modules()):
        raise ValueError("the model has no nn.Linear layer; the diagnostics report one row per such layer")


def check_batch(inputs, targets, **_) -> None:
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise ValueError(
            f"need a non-empty batch with one target per input, got {len(inputs)} inputs and {len(targets)} targets"
        )


def check_learning_rate(lr, **_) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive learning rate, got {lr!r}")


@checked(check_linear_model, check_batch)
def diagnose(model, inputs, targets):
    """`LayerStats` of every layer of `model` on one batch: a forward and a backward pass, no update.

    The gradients are taken with `torch.autograd.grad`, so the model's `.grad` fields are left untouched.
    """
    with LayerMonitor(model) as monitor, torch.enable_grad():
        loss = nn.functional.cross_entropy(model(inputs), targets)
        torch.autograd.grad(loss, [layer.weight for layer in monitor.layers.values()])
    return monitor.steps[-1]


@checked(check_linear_model, check_learning_rate)
def train_monitored(label, model, train, val, *, lr, epochs, seed=0):
    """Train `model` with plain SGD while a `LayerMonitor` records every step; returns the `Run`."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)  # no momentum: a step follows the gradient
    with LayerMonitor(model, optimizer) as monitor:
        history = fit(model, train, epochs=epochs, val=val, optimizer=optimizer, seed=seed)
    return Run(model, history, label, monitor)


@torch.no_grad()
def activation_outputs(model: nn.Module, inputs: Tensor) -> dict[str, Tensor]:
    """The output of every activation module of `model` on `inputs`, by module name, in the order they ran."""
    outputs: dict[str, Tensor] = {}
    names = {module: name for name, module in model.named_modules() if isinstance(module, ACTIVATION_TYPES)}
    if not names:
        raise ValueError("the model has no activation module (nn.Sigmoid, nn.ReLU, ...) to record")
    handles = [m.register_forward_hook(lambda m, _inputs, y: outputs.setdefault(names[m], y.detach())) for m in names]
    try:
        model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def format_report(report: list[LayerStats]) -> str:
    """A fixed-width table of a report, one line per layer; '-' where a value does not apply."""
    titles = ("mean", "std", "spread", "saturated", "dead", "grad norm", "grad/weight", "update/weight")

    def cell(value: float | None) -> str:
        return f"{'-':>14}" if value is None else f"{value:>14.3g}"

    lines = [f"{'layer':<8}{'activation':<12}" + "".join(f"{title:>14}" for title in titles)]
    for row in report:
        lines.append(f"{row.name:<8}{row.activation or '-':<12}" + "".join(cell(getattr(row, f)) for f in FIELDS))
    return "\n".join(lines)
