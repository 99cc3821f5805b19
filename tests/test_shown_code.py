"""The code a lesson teaches is shown where it is taught, and the helpers run that same code.

A notebook defines each from-scratch function or class in a cell of its own, before
anything uses it; the helper module that later notebooks import holds the same
definition. Here the two are compared as syntax trees (docstrings and comments
included in the comparison, decorators left out: a helper may add argument checks
with `@checked`), so an edit to either one alone fails until both agree.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from notebook_code import code_cells, helper_definition, shape, top_level_definitions

# notebook -> helper module -> the definitions the notebook teaches, in the order it shows them
SHOWN: dict[str, dict[str, list[str]]] = {
    "01-network-families": {
        "helpers.kernels.convolution": ["cross_correlate2d"],
        "helpers.kernels.recurrent": ["rnn_step", "unroll"],
        "helpers.kernels.attention": ["scaled_dot_product_attention", "self_attention"],
    },
    "02-activation-functions": {
        "helpers.kernels.activations": [
            "sigmoid",
            "sigmoid_derivative",
            "tanh",
            "tanh_derivative",
            "relu",
            "relu_derivative",
            "leaky_relu",
            "leaky_relu_derivative",
            "elu",
            "elu_derivative",
            "normal_cdf",
            "gelu",
            "gelu_derivative",
            "silu",
            "silu_derivative",
            "inactive_unit_fraction",
        ],
        "helpers.kernels.softmax": ["naive_softmax", "softmax", "log_softmax", "cross_entropy"],
    },
    "03-vanishing-gradients": {
        "helpers.core.diagnostics": [
            "saturated_fraction",
            "dead_fraction",
            "activation_statistics",
            "LayerMonitor",
            "diagnose",
            "train_monitored",
        ]
    },
    "04-input-normalization": {"helpers.kernels.normalization": ["MinMaxScaler", "ZScoreScaler"]},
    "05-data-augmentation": {"helpers.lessons.data_augmentation": ["random_affine"]},
    "06-dropout-and-batch-normalization": {
        "helpers.kernels.dropout": ["dropout_mask", "dropout", "Dropout"],
        "helpers.kernels.batch_norm": ["BatchNorm"],
    },
    "07-classifying-digits": {"helpers.core.training": ["train_batches", "evaluate_batches", "fit"]},
}

# Public kernels that no notebook needs to show, and why. (`check_*` guards are argument checks, never shown.)
REGISTRY = "plumbing that looks up a kernel by name for the experiments"
NOT_SHOWN: dict[str, str] = {
    "helpers.kernels.activations.Activation": REGISTRY,
    "helpers.kernels.activations.get_activation": REGISTRY,
    "helpers.kernels.activations.resolve_alpha": REGISTRY,
    "helpers.kernels.activations.canonical_parameters": REGISTRY,
    "helpers.kernels.activations.activate": REGISTRY,
    "helpers.kernels.activations.derivative": REGISTRY,
    "helpers.kernels.activations.autograd_derivative": REGISTRY,
    "helpers.kernels.activations.torch_activation": REGISTRY,
    "helpers.kernels.attention.word_vectors": "toy input data for the attention demo, not an idea of the lecture",
    "helpers.kernels.recurrent.running_sum_rnn": "01 sets a one-unit RNN's weights by hand and says so in its prose",
    "helpers.kernels.recurrent.half_life": "a formula 01 states in its prose; the memory figure uses it",
    "helpers.kernels.recurrent.input_influence": "an autograd measurement behind 01's memory figure, not a lecture idea",
    "helpers.kernels.normalization.NotFittedError": "the error a scaler raises when used before `fit`",
}

TAUGHT = [
    (stem, module, name) for stem, modules in SHOWN.items() for module, names in modules.items() for name in names
]


def kernel_names() -> set[str]:
    from helpers.core.paths import REPO_ROOT

    names = set()
    for path in sorted((REPO_ROOT / "helpers" / "kernels").glob("[!_]*.py")):
        module = importlib.import_module(f"helpers.kernels.{path.stem}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            public = not name.startswith(("_", "check_"))
            if defined_here and public and (inspect.isfunction(value) or inspect.isclass(value)):
                names.add(f"{module.__name__}.{name}")
    return names


@pytest.mark.parametrize("stem, module, name", TAUGHT, ids=[f"{s[:2]}-{n}" for s, _, n in TAUGHT])
def test_the_notebook_shows_the_same_code_the_helper_runs(stem, module, name):
    cells = code_cells(stem)
    defining = [i for i, source in enumerate(cells) if name in top_level_definitions(source)]
    assert len(defining) == 1, f"{stem} must define {name} in exactly one code cell, found {len(defining)}"
    shown = top_level_definitions(cells[defining[0]])[name]
    assert shape(shown) == shape(helper_definition(module, name)), (
        f"{name} in {stem} differs from {module}.{name}: change both, or neither"
    )


@pytest.mark.parametrize("stem, module, name", TAUGHT, ids=[f"{s[:2]}-{n}" for s, _, n in TAUGHT])
def test_the_notebook_uses_its_own_definition_not_an_import_of_it(stem, module, name):
    for source in code_cells(stem):
        for line in source.splitlines():
            if line.lstrip().startswith(("from helpers", "import helpers")):
                assert f" {name}" not in line.replace(",", " "), f"{stem} imports {name}, which it defines itself"


def test_every_kernel_is_shown_in_a_notebook_or_listed_with_a_reason():
    shown = {f"{module}.{name}" for _, module, name in TAUGHT}
    missing = sorted(kernel_names() - shown - set(NOT_SHOWN))
    assert not missing, f"kernels that no notebook shows: {missing}; define them in the notebook that teaches them"
    assert not (shown & set(NOT_SHOWN)), "a kernel is both shown and listed as not shown"
