"""Notebook 07, classifying digits: the lecture's worked example, made fast, and the trained model inspected.

Everything here follows the lecture's recipe: `ToTensor()` and flattening applied
to one image at a time, mini-batches of 100 from a shuffling `DataLoader`, the
network `mlp(LECTURE_LAYERS, batch_norm=True, flatten=False)` (784-100-10 with batch
normalisation), cross-entropy and Adam. `fit_with_loader` runs the shared loop of
`helpers.core.training` over the DataLoader; `fit_in_loader_order` runs it over
tensors held in memory in the DataLoader's shuffling order, so only the way a
mini-batch is assembled differs. `check_training_step` checks the exercise in which
the student writes one training step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import Compose, Lambda, ToTensor

from helpers.core.checks import check_pairs
from helpers.core.data import IMAGE_PIXELS, IMAGE_SHAPE, mnist, mnist_tensors
from helpers.core.exercises import Case, Feedback, check_cases
from helpers.core.training import (
    Evaluation,
    History,
    evaluate,
    evaluate_batches,
    fit,
    run_epochs,
    train_batches,
)

LECTURE_SEED = 1234
LECTURE_BATCH_SIZE = 100
LECTURE_EPOCHS = 20
LECTURE_LAYERS = (IMAGE_PIXELS, 100, 10)

# The per-epoch training loss and accuracy, and the test result, published in the lecture notes.
LECTURE_HISTORY = History(
    train_loss=[
        0.3272,
        0.1421,
        0.0999,
        0.0760,
        0.0611,
        0.0496,
        0.0422,
        0.0359,
        0.0310,
        0.0265,
        0.0226,
        0.0200,
        0.0183,
        0.0175,
        0.0160,
        0.0130,
        0.0130,
        0.0105,
        0.0104,
        0.0104,
    ],
    train_accuracy=[
        0.9175,
        0.9604,
        0.9721,
        0.9790,
        0.9828,
        0.9861,
        0.9879,
        0.9898,
        0.9914,
        0.9928,
        0.9937,
        0.9947,
        0.9948,
        0.9952,
        0.9957,
        0.9967,
        0.9964,
        0.9975,
        0.9973,
        0.9973,
    ],
)
LECTURE_TEST_LOSS = 0.0882
LECTURE_TEST_ACCURACY = 0.9774

Batches = Callable[[Iterable, int], Iterable]


def flatten_image(image: torch.Tensor) -> torch.Tensor:
    """A (1, 28, 28) image tensor as a vector of 784 pixels."""
    return torch.flatten(image)


def lecture_datasets() -> tuple[Dataset, Dataset]:
    """MNIST's training and test sets, each image turned into 784 floats in [0, 1] when it is read."""
    transform = Compose([ToTensor(), Lambda(flatten_image)])
    return mnist(train=True, transform=transform), mnist(train=False, transform=transform)


def lecture_loaders(batch_size: int = LECTURE_BATCH_SIZE) -> tuple[DataLoader, DataLoader]:
    """DataLoaders over `lecture_datasets()`: shuffled mini-batches for training, in order for testing."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    train, test = lecture_datasets()
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(test, batch_size=batch_size)


def _check_loader(loader: DataLoader) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(
            f"expected a torch DataLoader, got {type(loader).__name__}; "
            "for tensors held in memory use helpers.core.training instead"
        )
    if len(loader.dataset) == 0:
        raise ValueError("the DataLoader's dataset is empty")


@torch.no_grad()
def evaluate_with_loader(model: nn.Module, loader: DataLoader, *, device: torch.device | str = "cpu") -> Evaluation:
    """Mean loss and accuracy of `model` (put in eval mode) over every batch of `loader`."""
    _check_loader(loader)
    return evaluate_batches(model, loader, device=device)


def fit_with_loader(
    model: nn.Module,
    loader: DataLoader,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
    batches: Batches | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Train for `epochs` passes over `loader`, as the lecture does; returns the training `History`.

    `batches` and `on_epoch` take a `helpers.core.progress.TrainingProgress`'s
    `batches` method and the progress object itself.
    """
    _check_loader(loader)
    return run_epochs(
        lambda epoch: train_batches(model, batches(loader, epoch) if batches else loader, optimizer, device=device),
        epochs,
        on_epoch=on_epoch,
    )


def loader_shuffle_generator() -> torch.Generator:
    """The generator that a shuffling `DataLoader` (given no generator) shuffles one epoch with.

    It is drawn from PyTorch's global random state exactly as the DataLoader
    draws it (a seed for worker processes, then one for the sampler), so code
    that uses it sees the DataLoader's order and leaves the global state as the
    DataLoader would.
    """
    torch.empty((), dtype=torch.int64).random_()  # the iterator's base seed for worker processes
    seed = int(torch.empty((), dtype=torch.int64).random_().item())  # RandomSampler's seed
    return torch.Generator().manual_seed(seed)


def fit_in_loader_order(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int = LECTURE_BATCH_SIZE,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """`helpers.core.training.fit` on tensors held in memory, in the lecture DataLoader's batch order.

    Seeded as the lecture seeds, this gives the numbers `fit_with_loader` gives,
    without reading and transforming one image at a time.
    """
    return fit(
        model,
        train,
        epochs=epochs,
        optimizer=optimizer,
        batch_size=batch_size,
        shuffle=loader_shuffle_generator,
        on_epoch=on_epoch,
    )


def flat_mnist(train: bool, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """A whole MNIST split as one (N, 784) float tensor and one (N,) label tensor on `device`.

    The pixel values are exactly those `lecture_datasets()` produce one image at a time.
    """
    images, labels = mnist_tensors(train=train)
    return images.flatten(start_dim=1).to(device), labels.to(device)


def train_val_split(
    images: torch.Tensor, labels: torch.Tensor, *, val_size: int, seed: int = LECTURE_SEED
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split a training set at random into (train, validation) pairs, `val_size` samples for validation."""
    check_pairs(images, labels)
    if not 0 < val_size < len(labels):
        raise ValueError(
            f"val_size must lie between 1 and {len(labels) - 1} so that both parts are non-empty, got {val_size}"
        )
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).to(labels.device)
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])


def lecture_comparison(history: History, reference: History = LECTURE_HISTORY) -> str:
    """A Markdown table of per-epoch training loss and accuracy: the lecture's next to `history`'s."""
    epochs = min(history.epochs, reference.epochs)
    if epochs == 0:
        raise ValueError("the history has no epochs yet: train first, then compare")
    rows = [
        "| epoch | loss (lecture) | loss (this run) | accuracy (lecture) | accuracy (this run) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i in range(epochs):
        rows.append(
            f"| {i + 1} | {reference.train_loss[i]:.4f} | {history.train_loss[i]:.4f} "
            f"| {reference.train_accuracy[i]:.4f} | {history.train_accuracy[i]:.4f} |"
        )
    return "\n".join(rows)


@torch.no_grad()
def class_probabilities(model: nn.Module, images: torch.Tensor, *, batch_size: int = 2000) -> torch.Tensor:
    """Softmax of `model`'s outputs (in eval mode) for every image, shape (N, classes)."""
    if len(images) == 0:
        raise ValueError("no images to classify: the input is empty")
    model.eval()
    return torch.cat([model(batch).softmax(dim=1) for batch in images.split(batch_size)])


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs: entry [i, j] is how often digit i was called j."""
    if labels.shape != predictions.shape or labels.dim() != 1:
        raise ValueError(
            f"labels and predictions must be 1-D and of the same length, got shapes "
            f"{tuple(labels.shape)} and {tuple(predictions.shape)}"
        )
    for name, values in (("labels", labels), ("predictions", predictions)):
        if len(values) and not (0 <= int(values.min()) and int(values.max()) < classes):
            raise ValueError(
                f"{name} must be class numbers from 0 to {classes - 1}, "
                f"found {int(values.min())} to {int(values.max())}"
            )
    pairs = labels.long().cpu() * classes + predictions.long().cpu()
    return torch.bincount(pairs, minlength=classes * classes).reshape(classes, classes)


def plot_confusion_matrix(matrix: torch.Tensor, *, title: str = "Confusion matrix") -> Figure:
    """The confusion matrix with every count written in; colour shows the mistakes only (off the diagonal)."""
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {tuple(matrix.shape)}")
    classes = matrix.shape[0]
    matrix = matrix.cpu()
    mistakes = matrix.clone().fill_diagonal_(0).numpy()
    figure = Figure(figsize=(6, 5.2), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(mistakes, cmap="Reds", vmin=0)
    for i in range(classes):
        for j in range(classes):
            dark = mistakes[i, j] > 0.6 * mistakes.max()
            axes.text(
                j,
                i,
                int(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                fontweight="bold" if i == j else "normal",
                color="white" if dark else "black",
            )
    axes.set(xticks=range(classes), yticks=range(classes), xlabel="predicted digit", ylabel="true digit", title=title)
    figure.colorbar(image, ax=axes, label="mistakes (off-diagonal count)")
    return figure


def most_confident_mistakes(probabilities: torch.Tensor, labels: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the `count` wrongly classified samples whose predicted class had the highest probability."""
    if probabilities.dim() != 2 or len(probabilities) != len(labels):
        raise ValueError(
            f"probabilities must be (N, classes) with one row per label, got shape "
            f"{tuple(probabilities.shape)} for {len(labels)} labels"
        )
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    confidence, predictions = probabilities.max(dim=1)
    wrong = torch.nonzero(predictions != labels).flatten()
    order = confidence[wrong].argsort(descending=True, stable=True)
    return wrong[order[:count]]


def plot_first_layer_weights(weight: torch.Tensor, units: int = 24, *, columns: int = 8) -> Figure:
    """The incoming weights of the first `units` hidden units, each drawn as a 28 x 28 image.

    Red pixels push a unit's input up, blue ones down; each image has its own
    colour scale, symmetric about zero.
    """
    if weight.dim() != 2 or weight.shape[1] != IMAGE_PIXELS:
        raise ValueError(
            f"expected the first Linear layer's weight, of shape (hidden units, {IMAGE_PIXELS}), "
            f"got {tuple(weight.shape)}"
        )
    if not 1 <= units <= weight.shape[0]:
        raise ValueError(f"units must lie between 1 and {weight.shape[0]} (the hidden units there are), got {units}")
    weights = weight[:units].detach().cpu().reshape(-1, *IMAGE_SHAPE).numpy()
    rows = math.ceil(units / columns)
    figure = Figure(figsize=(1.2 * columns, 1.4 * rows + 0.5), layout="constrained")
    for unit, (axes, image) in enumerate(zip(figure.subplots(rows, columns, squeeze=False).flat, weights)):
        limit = float(abs(image).max())
        axes.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_title(f"unit {unit}", fontsize=8)
    for axes in figure.axes:
        axes.set(xticks=[], yticks=[])  # no ticks to lay out: the hidden ones cost most of the drawing time
        axes.axis("off")
    figure.suptitle(f"First-layer weights of {units} hidden units (red: positive, blue: negative)")
    return figure


# -- the exercise: one training step, written by the student ----------------------------------


def _step_problem(seed: int, leftovers: bool) -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.optim.Optimizer]:
    """A small network, a batch of 8 and plain SGD; with `leftovers`, gradients from an earlier step in `.grad`."""
    with torch.random.fork_rng(devices=[]):  # building layers draws random numbers: keep the notebook's sequence
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    images, labels = torch.randn(8, 6, generator=generator), torch.randint(0, 3, (8,), generator=generator)
    if leftovers:
        for parameter in model.parameters():
            parameter.grad = torch.randn(parameter.shape, generator=generator)
    return model, images, labels, torch.optim.SGD(model.parameters(), lr=0.1)


def _step_result(step: Callable, seed: int, leftovers: bool) -> tuple[object, torch.Tensor]:
    """What `step` returns on the problem, and every weight of the network after it, as one vector."""
    model, images, labels, optimizer = _step_problem(seed, leftovers)
    loss = step(model, images, labels, nn.CrossEntropyLoss(), optimizer)
    return loss, torch.cat([parameter.detach().flatten() for parameter in model.parameters()])


def _reference_step(model, images, labels, loss_fn, optimizer):
    loss = loss_fn(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _without_zero_grad(model, images, labels, loss_fn, optimizer):
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _without_step(model, images, labels, loss_fn, optimizer):
    loss = loss_fn(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


STEP_HINTS = {
    "general": "One step is: outputs = model(images); loss = loss_fn(outputs, labels); optimizer.zero_grad(); "
    "loss.backward(); optimizer.step(); then return the loss (a number, or its one-element tensor).",
    "no step": "The weights did not move: after loss.backward() call optimizer.step(), which applies the gradients "
    "(and call optimizer.zero_grad() before backward, not between backward and step).",
    "no zero_grad": "The gradients left in .grad from the previous step were added to the new ones: "
    "call optimizer.zero_grad() before loss.backward(), because backward adds to .grad instead of replacing it.",
}


def training_step_cases() -> list[Case]:
    """The checks of `check_training_step`: a fresh network, then one that holds an earlier step's gradients."""
    cases = []
    for name, seed, leftovers in (
        ("a fresh network", 0, False),
        ("a network whose .grad still holds the previous step's gradients", 1, True),
    ):
        cases.append(
            Case(
                name,
                lambda answer, seed=seed, leftovers=leftovers: _step_result(answer, seed, leftovers),
                _step_result(_reference_step, seed, leftovers),
                STEP_HINTS["general"],
                mistakes=(
                    (_step_result(_without_step, seed, leftovers), STEP_HINTS["no step"]),
                    (_step_result(_without_zero_grad, seed, leftovers), STEP_HINTS["no zero_grad"]),
                ),
            )
        )
    return cases


def check_training_step(answer: Callable) -> Feedback:
    """Feedback on `answer(model, images, labels, loss_fn, optimizer) -> loss`, one step of mini-batch training.

    It must return the batch's loss (computed before the update) and leave the
    weights as one step of `optimizer` with fresh gradients leaves them.
    """
    return check_cases("my_training_step", answer, training_step_cases())


# The fast path: the lecture's updates with almost none of the per-step overhead.
#
# The lecture's MLP trained near the machine's limit: the same updates, almost none of the overhead.
#
# One training step of the lecture's network (Linear -> BatchNorm1d -> ReLU ->
# Linear, cross-entropy, Adam) on a mini-batch of 100 is about 47 million
# floating-point operations, little work for a modern processor. Through
# `nn.Module`, autograd and `torch.optim.Adam`, much of each step's time goes to
# bookkeeping instead. `FastLectureMLP` keeps the arithmetic and drops the bookkeeping:
#
# - the backward pass is written out by hand (`FastLectureMLP.forward_backward`), so no autograd
#   graph is recorded and gradients go straight into buffers allocated once;
# - Adam is PyTorch's fused kernel, one call updating all six parameter tensors
#   (`torch._fused_adam_`, private, is what `torch.optim.Adam(fused=True)` calls;
#   the tests check the two against each other);
# - the training set is put into the epoch's shuffled order with one gather per
#   epoch, and each mini-batch is then a view, not a copy;
# - nothing is read back to Python during an epoch: the logits of every step are
#   kept, and the epoch's loss and accuracy come from them in one read at the end;
# - on CUDA the whole step is captured once as a CUDA graph and replayed, so each
#   step is three copies and one replay instead of some thirty launches.
#
# The model's own tensors are updated in place, batch-norm running statistics
# included, so after training `model.eval()` is the model the lecture's loop
# would have produced, up to float rounding.

ADAM_DEFAULTS = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def lecture_layers(model: nn.Module) -> tuple[nn.Linear, nn.BatchNorm1d, nn.Linear]:
    """The two Linear layers and the BatchNorm1d of a `lecture_mlp`, after checking that it is one."""
    kinds = (nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear)
    if (
        not isinstance(model, nn.Sequential)
        or len(model) != 4
        or not all(type(layer) is kind for layer, kind in zip(model, kinds))
    ):
        raise TypeError(
            "the fast path trains only the lecture's network, "
            "Sequential(Linear, BatchNorm1d, ReLU, Linear) as mlp(LECTURE_LAYERS, batch_norm=True, flatten=False) builds it; "
            f"got {model!r:.200}"
        )
    first, norm, _, second = model
    if (
        first.bias is None
        or second.bias is None
        or not norm.affine
        or not norm.track_running_stats
        or norm.momentum is None
    ):
        raise ValueError(
            "the fast path needs both Linear layers with a bias and a BatchNorm1d with "
            "affine=True, track_running_stats=True and a numeric momentum, as that call builds them"
        )
    tensors = [*model.parameters(), *model.buffers()]
    if len({t.device for t in tensors}) != 1 or any(p.dtype != torch.float32 for p in model.parameters()):
        raise ValueError("the fast path needs every weight as float32 on one device; move the model with .to(device)")
    return first, norm, second


def capture_cuda_graph(step: Callable[..., None], args: tuple[torch.Tensor, ...]) -> Callable[[], None]:
    """Capture `step(*args)` as a CUDA graph and return its replay; `args` must stay allocated.

    As PyTorch requires, `step` first runs a few times on a side stream (these
    runs are real: the caller undoes their effect), then once under capture.
    """
    with torch.cuda.device(args[0].device):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step(*args)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step(*args)
    return graph.replay


class FastLectureMLP:
    """Trains the lecture's network in place with Adam (default settings), fast: see the module's docstring.

    `graphs` (default: on CUDA) captures each full mini-batch's step as a CUDA
    graph. Training state (Adam's moments and step count) lives here, so keep
    one `FastLectureMLP` per model for as long as it trains.
    """

    def __init__(self, model: nn.Module, *, lr: float = ADAM_DEFAULTS["lr"], graphs: bool | None = None):
        first, norm, _ = lecture_layers(model)
        self.model, self.lr = model, lr
        self.running_mean, self.running_var = norm.running_mean, norm.running_var
        self.batches_tracked = norm.num_batches_tracked
        self.eps, self.momentum = norm.eps, norm.momentum
        self.device = first.weight.device
        self.graphs = self.device.type == "cuda" if graphs is None else graphs
        if self.graphs and self.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a model on a CUDA device; this one is on {self.device}")
        self.params = list(model.parameters())
        self.grads = [torch.zeros_like(p) for p in self.params]
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        self.steps = torch.zeros((), dtype=torch.float32, device=self.device)  # as Adam(fused=True) keeps it
        self._graphs: dict[int, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]] = {}  # by batch size
        self._shuffled: torch.Tensor | None = None

    @torch.no_grad()
    def forward_backward(self, images: torch.Tensor, targets: torch.Tensor, logits: torch.Tensor) -> None:
        """One training-mode forward and backward pass, derived by hand instead of by autograd.

        `images` is a (B, 784) mini-batch and `targets` its labels one-hot, (B, 10).
        Writes the scores into `logits` (B, 10) and the gradients of the mean
        cross-entropy into `self.grads` (one per `model.parameters()`), and
        updates the batch-norm running statistics as `nn.BatchNorm1d` does. Only
        tensor operations, no read-back to Python, so a GPU can capture it.
        """
        w1, b1, gamma, beta, w2, b2 = self.params
        g_w1, g_b1, g_gamma, g_beta, g_w2, g_b2 = self.grads
        batch = images.shape[0]
        # Forward: h = x W1^T + b1; batch-normalise with the batch's own statistics; ReLU; logits.
        hidden = torch.addmm(b1, images, w1.t())
        var, mean = torch.var_mean(hidden, dim=0, correction=0)
        inv_std = var.add(self.eps).rsqrt_()
        normalised = hidden.sub_(mean).mul_(inv_std)
        relu = torch.addcmul(beta, normalised, gamma).relu_()
        torch.addmm(b2, relu, w2.t(), out=logits)
        # Running statistics: the biased variance normalises, the unbiased one is tracked.
        self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
        self.running_var.mul_(1 - self.momentum).add_(var, alpha=self.momentum * batch / (batch - 1))
        self.batches_tracked.add_(1)
        # Backward of the mean cross-entropy: (softmax - one-hot) / B.
        g_logits = torch.softmax(logits, dim=1).sub_(targets).div_(batch)
        torch.mm(g_logits.t(), relu, out=g_w2)
        torch.sum(g_logits, dim=0, out=g_b2)
        g_relu = torch.ops.aten.threshold_backward(g_logits @ w2, relu, 0)  # zero where the ReLU was off
        # Batch norm, with xhat the normalised hidden values: dgamma = sum(g * xhat), dbeta = sum(g),
        # dh = gamma / std * (g - (dbeta + xhat * dgamma) / B).
        torch.sum(g_relu * normalised, dim=0, out=g_gamma)
        torch.sum(g_relu, dim=0, out=g_beta)
        g_hidden = g_relu.sub_(torch.addcmul(g_beta, normalised, g_gamma), alpha=1 / batch)
        g_hidden.mul_(gamma * inv_std)
        torch.mm(g_hidden.t(), images, out=g_w1)
        torch.sum(g_hidden, dim=0, out=g_b1)

    @torch.no_grad()
    def step(self, images: torch.Tensor, targets: torch.Tensor, logits: torch.Tensor) -> None:
        """One training step on a mini-batch: forward, backward, then one fused Adam update."""
        self.forward_backward(images, targets, logits)
        self.steps.add_(1)
        torch._fused_adam_(
            self.params,
            self.grads,
            self.exp_avgs,
            self.exp_avg_sqs,
            [],
            [self.steps] * len(self.params),
            lr=self.lr,
            beta1=ADAM_DEFAULTS["beta1"],
            beta2=ADAM_DEFAULTS["beta2"],
            weight_decay=0.0,
            eps=ADAM_DEFAULTS["eps"],
            amsgrad=False,
            maximize=False,
        )

    def _state(self) -> list[torch.Tensor]:
        return [*self.params, *self.model.buffers(), *self.exp_avgs, *self.exp_avg_sqs, self.steps]

    def _captured_step(self, batch_size: int) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]:
        """`step` for full mini-batches as a CUDA graph: copy the batch in, replay, copy the logits out."""
        if batch_size in self._graphs:
            return self._graphs[batch_size]
        images = torch.zeros(batch_size, self.params[0].shape[1], device=self.device)
        targets = torch.zeros(batch_size, self.params[-1].shape[0], device=self.device)
        logits = torch.zeros_like(targets)
        with torch.no_grad():
            saved = [t.clone() for t in self._state()]
            replay_graph = capture_cuda_graph(self.step, (images, targets, logits))
            for tensor, value in zip(self._state(), saved):  # the warm-up steps really trained: undo them
                tensor.copy_(value)

        def replay(batch_images: torch.Tensor, batch_targets: torch.Tensor, batch_logits: torch.Tensor) -> None:
            images.copy_(batch_images)
            targets.copy_(batch_targets)
            replay_graph()
            batch_logits.copy_(logits)

        self._graphs[batch_size] = replay
        return replay

    def train_epoch(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int = 100,
        generator: torch.Generator | None = None,
    ) -> Evaluation:
        """One pass in shuffled mini-batches (order: `torch.randperm` with `generator`, as `train_epoch`).

        Returns the mean loss and the accuracy seen while training, read back
        from the device once.
        """
        if (
            images.ndim != 2
            or labels.ndim != 1
            or len(images) != len(labels)
            or len(labels) == 0
            or images.dtype != torch.float32
        ):
            raise ValueError(
                f"expected (N, features) float32 inputs and (N,) labels with N > 0, "
                f"got {tuple(images.shape)} {images.dtype} and {tuple(labels.shape)}"
            )
        if images.device != self.device or labels.device != self.device:
            raise ValueError(
                f"the data is on {images.device}/{labels.device} but the model on {self.device}; "
                "move the data with .to(device)"
            )
        if batch_size < 2 or len(labels) % batch_size == 1:
            raise ValueError(
                f"batch_size {batch_size} over {len(labels)} samples leaves a mini-batch of one, "
                "which batch normalisation cannot train on; choose another batch size"
            )
        self.model.train()
        order = torch.randperm(len(labels), generator=generator).to(self.device)
        if self._shuffled is None or self._shuffled.shape != images.shape:
            self._shuffled = torch.empty_like(images)  # allocated once: fresh memory every epoch is slower
        shuffled = torch.index_select(images, 0, order, out=self._shuffled)  # the one gather of the epoch
        shuffled_labels = labels.index_select(0, order)
        targets = torch.zeros(len(labels), self.params[-1].shape[0], device=self.device)
        targets.scatter_(1, shuffled_labels.unsqueeze(1), 1.0)  # one-hot, without a read-back on CUDA
        logits = torch.empty_like(targets)
        graphed = self._captured_step(batch_size) if self.graphs else None
        for batch in zip(shuffled.split(batch_size), targets.split(batch_size), logits.split(batch_size)):
            (graphed if graphed is not None and len(batch[0]) == batch_size else self.step)(*batch)
        loss = nn.functional.cross_entropy(logits, shuffled_labels, reduction="sum")
        correct = (logits.argmax(dim=1) == shuffled_labels).sum()
        loss, correct = torch.stack([loss, correct.float()]).tolist()  # the epoch's one read-back
        return Evaluation(loss / len(labels), correct / len(labels))


def fit_fast(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    shuffle: torch.Generator | Callable[[], torch.Generator],
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    batch_size: int = 100,
    graphs: bool | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
) -> History:
    """Train the lecture's network in place for `epochs` with `FastLectureMLP`; returns its `History`.

    `shuffle` orders the mini-batches: one generator that shuffles every epoch
    in turn (as `helpers.core.training.fit` does with its seed), or a function
    called once per epoch for that epoch's generator
    (`loader_shuffle_generator` gives the DataLoader's order).
    With `val`, the loss and accuracy on it are recorded after every epoch.
    """
    trainer = FastLectureMLP(model, graphs=graphs)
    epoch_generator = (lambda: shuffle) if isinstance(shuffle, torch.Generator) else shuffle
    return run_epochs(
        lambda _epoch: trainer.train_epoch(*train, batch_size=batch_size, generator=epoch_generator()),
        epochs,
        validate=None if val is None else lambda: evaluate(model, *val),
        on_epoch=on_epoch,
    )
