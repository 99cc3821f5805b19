"""Showing training as it goes: progress bars and live curves in JupyterLab, text lines when headless.

`TrainingProgress` plugs into every training loop of the course: pass it as `on_epoch` to
`helpers.core.training.fit`, or call it after each epoch of a loop of your own.
"""

from __future__ import annotations

import time

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from helpers.core.explorer import headless
from helpers.core.training import History


def describe_epoch(epoch: int, epochs: int, history: History, seconds: float) -> str:
    """One line that reports an epoch: training (and validation) loss and accuracy, and its duration."""
    if not 1 <= epoch <= history.epochs:
        raise ValueError(f"epoch {epoch} is not in the history, which holds epochs 1 to {history.epochs}")
    i = epoch - 1
    line = (
        f"epoch {epoch:{len(str(epochs))}d}/{epochs}  "
        f"train loss {history.train_loss[i]:.4f} accuracy {history.train_accuracy[i]:.4f}"
    )
    if len(history.val_loss) >= epoch:
        line += f"  | val loss {history.val_loss[i]:.4f} accuracy {history.val_accuracy[i]:.4f}"
    return line + f"  ({seconds:.1f} s)"


def plot_history(
    history: History,
    *,
    reference: History | None = None,
    reference_label: str = "lecture (published)",
    epochs: int | None = None,
    title: str = "Training progress",
) -> Figure:
    """Loss and accuracy per epoch, side by side; `reference` is drawn dashed for comparison.

    `epochs` fixes the width of the x axis, so that curves drawn during training grow into it.
    """
    if history.epochs == 0:
        raise ValueError("the history has no epochs yet: plot it after at least one epoch")
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    width = max(epochs or 0, history.epochs, reference.epochs if reference else 0)
    series = [
        ("train", history.train_loss, history.train_accuracy, "C0", "-"),
        ("validation", history.val_loss, history.val_accuracy, "C1", "-"),
    ]
    if reference is not None:
        series.append((reference_label, reference.train_loss, reference.train_accuracy, "0.4", "--"))
    for label, losses, accuracies, colour, style in series:
        for axes, values in ((loss_axes, losses), (accuracy_axes, accuracies)):
            if values:
                axes.plot(range(1, len(values) + 1), values, style, color=colour, marker=".", label=label)
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.set_xlim(0.5, width + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    return figure


# Drawing the live curves takes about 0.75 s on a 2-core CPU, longer than an epoch of most runs in this
# course: after a redraw that took d seconds, the next waits until d / LIVE_CURVES_SHARE seconds have
# passed, so that the curves use at most this share of the training time.
LIVE_CURVES_SHARE = 0.2


class TrainingProgress:
    """Reports each epoch: a text line when headless; progress bars and live curves in JupyterLab.

    Call it after every epoch with `(epoch, history)`. The progress bar moves every
    epoch; the curves are redrawn as often as `LIVE_CURVES_SHARE` allows (every epoch
    when epochs are slow). When the last epoch is reported the live figure is removed,
    so that a notebook cell can end with one final `plot_history` figure.
    """

    def __init__(self, epochs: int, *, live_curves: bool = True, reference: History | None = None):
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        self.epochs = epochs
        self.live = not headless()
        self.live_curves = live_curves
        self.reference = reference
        self._last = time.perf_counter()
        self._bar = None
        self._display = None
        self._next_redraw = 0.0  # time.perf_counter() from which the curves may be redrawn

    def __call__(self, epoch: int, history: History) -> None:
        now = time.perf_counter()
        line = describe_epoch(epoch, self.epochs, history, now - self._last)
        self._last = now
        if not self.live:
            print(line, flush=True)
            return
        self._show_live(epoch, history, line)

    def _show_live(self, epoch: int, history: History, line: str) -> None:
        from IPython.display import HTML, display
        from tqdm.auto import tqdm

        if self._bar is None:
            self._bar = tqdm(total=self.epochs, desc="training", unit="epoch")
        self._bar.update(1)
        self._bar.set_postfix_str(line.split("  ", 1)[1])
        started = time.perf_counter()
        if self.live_curves and epoch < self.epochs and started >= self._next_redraw:
            figure = plot_history(history, reference=self.reference, epochs=self.epochs)
            if self._display is None:
                self._display = display(figure, display_id=True)
            else:
                self._display.update(figure)
            finished = time.perf_counter()
            self._next_redraw = finished + (finished - started) * (1 / LIVE_CURVES_SHARE - 1)
        if epoch == self.epochs:
            self._bar.close()
            if self._display is not None:
                self._display.update(HTML(""))
