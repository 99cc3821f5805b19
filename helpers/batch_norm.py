"""Batch normalization from scratch, for 2-D inputs (batch, features), and the experiments around it.

In training each feature is standardized with the mean and variance of the current
mini-batch, then scaled by a learnable `weight` (gamma) and shifted by a learnable
`bias` (beta). Exponential moving averages of the batch statistics are kept as
running statistics, and inference (`model.eval()`) uses those instead, so that a
prediction never depends on the other samples in its batch.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from numbers import Real

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.deep_mlp import deep_mlp
from helpers.diagnostics import saturated_fraction
from helpers.seeding import seed_everything
from helpers.training import minibatches
from helpers.vanishing import Run, train_monitored


class BatchNorm(nn.Module):
    """Batch normalization over the features of `(batch, num_features)` inputs; a stand-in for `nn.BatchNorm1d`.

    `momentum` follows PyTorch's convention: it is the weight of the *new* batch,
    `running = (1 - momentum) * running + momentum * batch_statistic`. The running
    variance is updated with the unbiased batch variance, the normalization uses the
    biased one, exactly as PyTorch does. Parameter and buffer names match
    `nn.BatchNorm1d`, so state dicts can be exchanged in both directions.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(
                f"num_features must be a positive integer (the width of the layer before), got {num_features!r}"
            )
        if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0:
            raise ValueError(f"eps must be a small positive number that keeps the division safe, e.g. 1e-5; "
                             f"got {eps!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0 <= momentum <= 1:
            raise ValueError(f"momentum is the weight of each new batch in the running statistics and must lie "
                             f"in [0, 1]; got {momentum!r} (PyTorch's default is 0.1)")
        self.num_features, self.eps, self.momentum = num_features, float(eps), float(momentum)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if self.training:
            mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
            self._update_running_statistics(mean.detach(), var.detach(), batch_size=len(x))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias

    @torch.no_grad()
    def _update_running_statistics(self, mean: torch.Tensor, var: torch.Tensor, *, batch_size: int) -> None:
        unbiased_var = var * batch_size / (batch_size - 1)
        self.running_mean.lerp_(mean, self.momentum)
        self.running_var.lerp_(unbiased_var, self.momentum)
        self.num_batches_tracked += 1

    def _check_input(self, x: torch.Tensor) -> None:
        if not torch.is_tensor(x) or x.dim() != 2:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"BatchNorm expects a 2-D tensor (batch, {self.num_features}), got {shape}; "
                             "flatten images first, e.g. with nn.Flatten()")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"BatchNorm's weights are {self.weight.dtype} but the input is {x.dtype}; convert it "
                            f"first, e.g. x.float() (integer pixels: x.float() / 255), or the layer with .double()")
        if len(x) == 0:
            raise ValueError("BatchNorm got an empty batch (0 samples); pass at least one sample")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm was built for {self.num_features} features but got {x.shape[1]}; "
                             "num_features must equal the width of the layer before it")
        if self.training and len(x) < 2:
            raise ValueError("BatchNorm in training mode needs at least 2 samples per batch (one sample has no "
                             "spread to normalize by); to predict single samples call model.eval() first")

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"


@torch.no_grad()
def plot_normalization_steps(gamma: float, beta: float, *, seed: int = 0) -> Figure:
    """One unit's inputs to a sigmoid over a batch: as they come, standardized, then scaled and shifted.

    `gamma` and `beta` are the scale and shift; the legend gives the fraction of
    each version that falls where the sigmoid is saturated.
    """
    generator = torch.Generator().manual_seed(seed)
    raw = 4 + 1.5 * torch.randn(256, 1, generator=generator)  # a unit pushed deep into saturation
    layer = BatchNorm(1)
    normalized = layer(raw)
    layer.weight.fill_(gamma)
    layer.bias.fill_(beta)
    steps = {"as they come": raw, "standardized": normalized, rf"$\gamma\,\hat{{x}} + \beta$": layer(raw)}
    figure, axis = plt.subplots(figsize=(8, 3.2), layout="constrained")
    bins = torch.linspace(-12, 12, 97).numpy()
    for colour, (name, values) in enumerate(steps.items()):
        saturated = saturated_fraction(nn.Sigmoid(), values)
        axis.hist(values.flatten().numpy(), bins=bins, histtype="step", lw=2, ls="--" if colour == 2 else "-",
                  color=f"C{colour}", label=f"{name}: {saturated:.0%} saturated")
    curve = axis.twinx()
    x = torch.linspace(-12, 12, 241)
    curve.plot(x, torch.sigmoid(x), color="k", lw=1.5)
    curve.set(ylabel="sigmoid(x)", ylim=(-0.02, 1.02))
    axis.set(xlabel="input x to the sigmoid", ylabel="samples in the batch", xlim=(-12, 12),
             title=rf"Batch normalization of one unit, $\gamma$ = {gamma:g}, $\beta$ = {beta:g}")
    axis.legend(loc="upper left", fontsize=8)
    return figure


def train_deep_sigmoid(
    batch_norm: bool,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    *,
    seed: int,
    depth: int = 8,
    width: int = 64,
    lr: float = 0.2,
    epochs: int = 12,
) -> tuple[nn.Sequential, Run]:
    """Train a deep sigmoid `deep_mlp`, with or without batch normalization, and return it with its `Run`.

    The weights come from `seed`; training is `train_monitored`'s plain SGD, with a
    `LayerMonitor` recording every layer at every step.
    """
    seed_everything(seed)
    model = deep_mlp(depth, width, "sigmoid", batch_norm=batch_norm)
    label = "with batch normalization" if batch_norm else "without batch normalization"
    return model, train_monitored(label, model, train, test, lr=lr, epochs=epochs, seed=seed)


def plot_layer_statistics(runs: Sequence[Run]) -> Figure:
    """Every hidden layer's activations, step by step, one column per run.

    Top: their mean. Bottom (log scale): their standard deviation across the images
    of the batch, per unit, averaged over the units (the diagnostics' `spread`).
    """
    figure, axes = plt.subplots(2, len(runs), figsize=(5 * len(runs), 5.5), layout="constrained",
                                sharex=True, sharey="row", squeeze=False)
    for column, run in enumerate(runs):
        layers = len(run.monitor.latest) - 1  # the output layer has no activation
        for row, field in enumerate(("mean", "spread")):
            for k in range(layers):
                axes[row, column].plot(run.monitor.series(field, layer=k), lw=1,
                                       color=plt.cm.viridis(k / max(layers - 1, 1)), label=f"layer {k + 1}")
            axes[row, column].grid(alpha=0.3)
        axes[0, column].set_title(run.label)
        axes[1, column].set(xlabel="training step", yscale="log")
    axes[0, 0].set_ylabel("mean of activations")
    axes[1, 0].set_ylabel("std across the batch")
    axes[0, -1].legend(fontsize="x-small", ncol=2)
    return figure


@torch.no_grad()
def accuracy_in_batches(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int, train_mode: bool
) -> float:
    """Accuracy of predictions made `batch_size` samples at a time, with the model in train or eval mode.

    Works on a copy of `model`, so predicting in train mode cannot overwrite the
    original's running statistics.
    """
    if len(images) != len(labels) or len(labels) == 0:
        raise ValueError(
            f"need as many labels as images, and at least one: got {len(images)} images, {len(labels)} labels"
        )
    model = copy.deepcopy(model).train(train_mode)
    correct = 0
    for index in minibatches(len(labels), batch_size, shuffle=False):
        correct += (model(images[index]).argmax(dim=1) == labels[index]).sum().item()
    return correct / len(labels)
