"""Notebook 06, dropout and batch normalization: what each buys, measured on MNIST, pictures, and exercise checks.

The kernels themselves (`Dropout`, `BatchNorm`) live in `helpers.kernels` and are
shown in the notebook; here are the overfitting experiment that dropout answers, the
deep sigmoid network that batch normalization rescues, the figures that show both at
work, and the checkers of the exercises where the student writes them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from torch import nn

from helpers.core.checks import check_pairs
from helpers.core.data import IMAGE_PIXELS
from helpers.core.diagnostics import saturated_fraction, train_monitored
from helpers.core.exercises import Case, Feedback, check_cases, tensor_like
from helpers.core.models import mlp
from helpers.core.seed_spread import plot_curves, plot_final_accuracies, stack_metric
from helpers.core.seeding import seed_everything
from helpers.core.training import History, Run, evaluate, fit
from helpers.kernels.dropout import dropout_mask


def overfitting_run(
    p: float,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    *,
    seed: int,
    epochs: int = 30,
    hidden: int = 256,
    lr: float = 1e-3,
) -> History:
    """Train a 784-`hidden`-`hidden`-10 ReLU `mlp` with `Dropout(p)` from seed `seed` with Adam.

    The test set is the `History`'s validation set.

    After every epoch the training loss and accuracy are measured again in eval
    mode (every unit present), so train and test numbers compare like with like.
    """
    seed_everything(seed)
    model = mlp([IMAGE_PIXELS, hidden, hidden, 10], dropout=p)

    def remeasure_train(_epoch: int, history: History) -> None:
        remeasured = evaluate(model, *train)
        history.train_loss[-1], history.train_accuracy[-1] = remeasured.loss, remeasured.accuracy

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return fit(model, train, val=test, epochs=epochs, optimizer=optimizer, seed=seed, on_epoch=remeasure_train)


def generalization_gaps(runs: Mapping[float, Sequence[History]]) -> dict[str, torch.Tensor]:
    """Final training accuracy minus final test accuracy, one value per seed, for each drop probability."""
    return {
        f"p = {p:g}": stack_metric(histories, "train_accuracy")[:, -1] - stack_metric(histories, "val_accuracy")[:, -1]
        for p, histories in runs.items()
    }


def plot_dropout_mask(p: float, seed: int = 0, *, batch: int = 8, units: int = 16) -> Figure:
    """One batch of activations, the dropout mask drawn for it, and the scaled result, side by side."""
    generator = torch.Generator().manual_seed(seed)
    activations = torch.rand(batch, units, generator=generator) * 2
    mask = dropout_mask(activations, p, generator=generator)
    output = activations * mask / (1 - p)
    figure = Figure(figsize=(9, 2.9), layout="constrained")
    axes = figure.subplots(1, 3)
    top = 2 / (1 - p)  # one colour scale for input and output, so the rescaled survivors stand out
    panels = [
        (activations, "activations $h$", "viridis", top),
        (mask, f"mask $m$: {int((mask == 0).sum())} of {mask.numel()} dropped (black)", "gray", 1),
        (output, r"output $h \cdot m / (1-p)$", "viridis", top),
    ]
    for ax, (values, title, cmap, vmax) in zip(axes, panels):
        image = ax.imshow(values.numpy(), cmap=cmap, vmin=0, vmax=vmax)
        ax.set(title=title, xlabel="unit", ylabel="sample in batch", xticks=[], yticks=[])
    figure.colorbar(image, ax=axes[[0, 2]], shrink=0.8, label="value")
    figure.suptitle(f"Dropout with p = {p:g}: survivors are scaled by 1/(1-p) = {1 / (1 - p):.2f}")
    return figure


def plot_overfitting(runs: Mapping[float, Sequence[History]]) -> Figure:
    """Accuracy and loss per epoch (mean and range over seeds) for each drop probability, and the final gaps."""
    figure = Figure(figsize=(13, 3.8), layout="constrained")
    (accuracy, loss, gaps) = figure.subplots(1, 3, width_ratios=[3, 3, 2])
    for axis, metric in ((accuracy, "accuracy"), (loss, "loss")):
        curves = {
            f"p = {p:g}, {split}": stack_metric(histories, f"{key}_{metric}")
            for p, histories in runs.items()
            for split, key in (("train", "train"), ("test", "val"))
        }
        plot_curves(curves, ylabel=f"{metric} (eval mode)", title=f"{metric.capitalize()} per epoch", ax=axis)
        for index, (line, band) in enumerate(zip(axis.get_lines(), axis.collections)):
            colour = f"C{index // 2}"  # one colour per p, as in the gap panel; train dashed, test solid
            line.set(color=colour, linestyle="--" if index % 2 == 0 else "-")
            band.set_color(colour)
        axis.legend(fontsize=8)
    loss.set_yscale("log")
    plot_final_accuracies(generalization_gaps(runs), title="Final train - test accuracy gap", ax=gaps)
    gaps.set_xlabel("gap (percentage points): dots are seeds")
    return figure


@torch.no_grad()
def plot_normalization_steps(gamma: float, beta: float, *, seed: int = 0) -> Figure:
    """One unit's inputs to a sigmoid over a batch: as they come, standardized, then scaled and shifted.

    `gamma` and `beta` are the scale and shift; the legend gives the fraction of
    each version that falls where the sigmoid is saturated.
    """
    generator = torch.Generator().manual_seed(seed)
    raw = 4 + 1.5 * torch.randn(256, generator=generator)  # a unit pushed deep into saturation
    normalized = (raw - raw.mean()) / torch.sqrt(raw.var(unbiased=False) + 1e-5)
    steps = {"as they come": raw, "standardized": normalized, r"$\gamma\,\hat{x} + \beta$": gamma * normalized + beta}
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    axis = figure.subplots()
    bins = torch.linspace(-12, 12, 97).numpy()
    for colour, (name, values) in enumerate(steps.items()):
        saturated = saturated_fraction(nn.Sigmoid(), values)
        axis.hist(
            values.numpy(),
            bins=bins,
            histtype="step",
            lw=2,
            ls="--" if colour == 2 else "-",
            color=f"C{colour}",
            label=f"{name}: {saturated:.0%} saturated",
        )
    curve = axis.twinx()
    x = torch.linspace(-12, 12, 241)
    curve.plot(x, torch.sigmoid(x), color="k", lw=1.5)
    curve.set(ylabel="sigmoid(x)", ylim=(-0.02, 1.02))
    axis.set(
        xlabel="input x to the sigmoid",
        ylabel="samples in the batch",
        xlim=(-12, 12),
        title=rf"Batch normalization of one unit, $\gamma$ = {gamma:g}, $\beta$ = {beta:g}",
    )
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
) -> Run:
    """Train a deep sigmoid `mlp`, with or without batch normalization, and return its `Run` (with the model).

    The weights come from `seed`; training is `train_monitored`'s plain SGD, with a
    `LayerMonitor` recording every layer at every step.
    """
    seed_everything(seed)
    model = mlp([IMAGE_PIXELS, *[width] * depth, 10], "sigmoid", batch_norm=batch_norm)
    label = "with batch normalization" if batch_norm else "without batch normalization"
    return train_monitored(label, model, train, test, lr=lr, epochs=epochs, seed=seed)


def plot_layer_statistics(runs: Sequence[Run]) -> Figure:
    """Every hidden layer's activations, step by step, one column per run.

    Top: their mean. Bottom (log scale): their standard deviation across the images
    of the batch, per unit, averaged over the units (the diagnostics' `spread`).
    """
    figure = Figure(figsize=(5 * len(runs), 5.5), layout="constrained")
    axes = figure.subplots(2, len(runs), sharex=True, sharey="row", squeeze=False)
    for column, run in enumerate(runs):
        layers = len(run.monitor.steps[-1]) - 1  # the output layer has no activation
        for row, field in enumerate(("mean", "spread")):
            for k in range(layers):
                axes[row, column].plot(
                    run.monitor.series(field, layer=k),
                    lw=1,
                    color=colormaps["viridis"](k / max(layers - 1, 1)),
                    label=f"layer {k + 1}",
                )
            axes[row, column].grid(alpha=0.3)
        axes[0, column].set_title(run.label)
        axes[1, column].set(xlabel="training step", yscale="log")
    axes[0, 0].set_ylabel("mean of activations")
    axes[1, 0].set_ylabel("std across the batch")
    axes[0, -1].legend(fontsize="x-small", ncol=2)
    return figure


def accuracy_in_batches(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int, train_mode: bool
) -> float:
    """Accuracy of predictions made `batch_size` samples at a time, with the model in train or eval mode.

    Works on a copy of `model`, so predicting in train mode cannot overwrite the
    original's running statistics.
    """
    check_pairs(images, labels)
    copied = copy.deepcopy(model).train(train_mode)  # train(False) is eval mode
    with torch.no_grad():
        correct = sum(
            (copied(inputs).argmax(dim=1) == targets).sum().item()
            for inputs, targets in zip(images.split(batch_size), labels.split(batch_size))
        )
    return correct / len(labels)


def check_dropout(answer) -> Feedback:
    """Check the student's inverted dropout `answer(x, p, training=True)` on a few inputs, with a fixed random state."""
    ones, x = torch.ones(1_000_000), torch.randn(64, 20, generator=torch.Generator().manual_seed(0))

    def output(answer, inputs, p):  # the student's result, once it is a tensor like the input
        return tensor_like(answer(inputs, p, training=True), inputs)

    def survivors(answer):
        out = output(answer, torch.ones(10_000), 0.3)
        return out[out != 0].mean().item()

    def changed(answer):  # about half the entries at p = 0.5, if each call draws its own mask
        return ((output(answer, x, 0.5) != 0) != (output(answer, x, 0.5) != 0)).float().mean().item()

    def alike(answer):  # the shares of units masked alike in all samples, and of samples with all units alike
        kept = output(answer, x, 0.5) != 0
        units, samples = (kept == kept[:1]).all(dim=0), (kept == kept[:, :1]).all(dim=1)
        return units.float().mean().item(), samples.float().mean().item()

    def entries(answer):
        out = output(answer, x, 0.5)
        return out - x * (out != 0) / 0.5  # zero wherever an entry is either dropped or x / (1 - p)

    keep_with = "Keep each entry with probability 1 - p, e.g. `mask = (torch.rand_like(x) >= p).float()`."
    cases = [
        Case(
            "the fraction of a million ones set to zero at p = 0.3 (2 decimals)",
            lambda answer: round((output(answer, ones, 0.3) == 0).float().mean().item(), 2),
            0.3,
            hint=f"Set each entry to zero with probability p, independently of the others. {keep_with}",
            mistakes=[
                (0.7, f"You dropped with probability 1 - p, but p is the probability to drop. {keep_with}"),
                (
                    0.0,
                    f"Nothing was dropped: with `training=True` each entry must be zeroed with probability p. {keep_with}",
                ),
            ],
        ),
        Case(
            "the value of the ones that survive at p = 0.3",
            survivors,
            1 / 0.7,
            hint="The entries that survive must be divided by 1 - p, so that the expected value stays x.",
            mistakes=[
                (1.0, "You forgot the scale: divide the entries that survive by 1 - p, so that the mean stays x."),
                (0.7, "You multiplied the survivors by 1 - p; inverted dropout divides them by 1 - p."),
            ],
        ),
        Case(
            "the share of a (64, 20) batch's mask that changes on a second call at p = 0.5",
            changed,
            0.5,
            hint=f"Draw a new random mask on every call. {keep_with}",
            mistakes=[
                (0.0, f"Every call drops the same entries: the mask must be random, drawn anew each call. {keep_with}")
            ],
            tolerance=0.2,
        ),
        Case(
            "the masks of a (64, 20) batch at p = 0.5 (shares of units, and of samples, masked all alike)",
            alike,
            (0.0, 0.0),
            hint=f"Draw the mask for every entry of x on its own. {keep_with}",
            mistakes=[
                (
                    (1.0, 0.0),
                    f"The whole batch shares one mask: draw one for every entry, not one per unit. {keep_with}",
                ),
                ((0.0, 1.0), f"Each sample keeps or drops all its units together: draw one per entry. {keep_with}"),
            ],
            tolerance=0.05,
        ),
        Case(
            "a (64, 20) batch at p = 0.5, where every entry must be 0 or x / (1 - p)",
            entries,
            torch.zeros(64, 20),
            hint="Multiply x entry by entry by the mask and divide by 1 - p; keep the shape of x.",
        ),
        Case(
            "a (64, 20) batch with training=False",
            lambda answer: answer(x, 0.5, training=False),
            x,
            hint="At inference dropout steps aside: with `training=False` return x unchanged, no mask, no scale.",
        ),
    ]
    return check_cases("your inverted dropout", answer, cases)  # seeded, and the notebook's random state untouched


def check_batch_norm(answer) -> Feedback:
    """Check the student's training-mode batch normalization `answer(x, gamma, beta, eps=1e-5)`."""
    generator = torch.Generator().manual_seed(0)
    x = 2 + 4 * torch.randn(5, 3, generator=generator)
    gamma, beta = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, -1.0])
    flat = 1 + 0.003 * torch.randn(4, 2, generator=generator)  # features that barely vary: eps matters
    ones, zeros = torch.ones(2), torch.zeros(2)

    def normalized(x, gamma, beta, *, dim=0, unbiased=False, eps=1e-5):
        mean, var = x.mean(dim=dim, keepdim=True), x.var(dim=dim, unbiased=unbiased, keepdim=True)
        return gamma * (x - mean) / torch.sqrt(var + eps) + beta

    over_batch = "Normalize each feature (column) over the batch: take the mean and the variance along dim=0."
    biased = "You used the unbiased variance (dividing by B - 1); batch normalization divides by B: `unbiased=False`."
    cases = [
        Case(
            "a batch of 5 samples with 3 features",
            lambda answer: answer(x, gamma, beta),
            normalized(x, gamma, beta),
            hint=f"{over_batch} Then return gamma * x_hat + beta.",
            mistakes=[
                (normalized(x, gamma, beta, dim=1), f"You normalized each sample over its features. {over_batch}"),
                (normalized(x, gamma, beta, unbiased=True), biased),
                (normalized(x, 1, 0), "You forgot the learnable scale and shift: return gamma * x_hat + beta."),
            ],
        ),
        Case(
            "4 samples of 2 features that barely vary",
            lambda answer: answer(flat, ones, zeros),
            normalized(flat, ones, zeros),
            hint="Divide by sqrt(var + eps) with the biased variance of each feature.",
            mistakes=[
                (normalized(flat, ones, zeros, eps=0), "You left out eps: divide by sqrt(var + eps), not sqrt(var)."),
                (normalized(flat, ones, zeros, unbiased=True), biased),
            ],
        ),
    ]
    return check_cases("your batch normalization", answer, cases)


@torch.no_grad()
def running_statistics_report(model: nn.Module, images: torch.Tensor) -> str:
    """Each batch-norm layer's running mean and variance next to the real ones of its inputs on `images`.

    Every value is averaged over the layer's units; `model` is left in eval mode, untouched.
    """
    layers = [module for module in model.modules() if isinstance(module, nn.BatchNorm1d)]
    inputs = []
    hooks = [layer.register_forward_hook(lambda _m, args, _out: inputs.append(args[0])) for layer in layers]
    model.eval()
    model(images)
    for hook in hooks:
        hook.remove()
    lines = [f"{'layer':<6}{'running mean':>14}{'real mean':>12}{'running var':>13}{'real var':>11}"]
    for k, (layer, x) in enumerate(zip(layers, inputs), start=1):
        lines.append(
            f"{k:<6}{layer.running_mean.mean():>14.3f}{x.mean(dim=0).mean():>12.3f}"
            f"{layer.running_var.mean():>13.1e}{x.var(dim=0).mean():>11.1e}"
        )
    return "\n".join(lines)
