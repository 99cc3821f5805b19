"""Helpers that the Deep Learning Fundamentals notebooks import, one module per concern.

Infrastructure, used by every notebook:

- `helpers.core.paths`: where the repository, its data and its run artefacts live.
- `helpers.core.data`: the offline MNIST copy, verified before use.
- `helpers.core.device`: choosing CUDA, Apple MPS or the CPU.
- `helpers.core.seeding`: one call that seeds Python, NumPy and PyTorch.
- `helpers.core.training`: the shared training loop over in-memory tensors.
- `helpers.core.explorer`: interactive figures, live in JupyterLab and static on the website.
- `helpers.execute`: re-executing notebooks in place, as the website needs them.

Building blocks, written from scratch and checked against PyTorch:

- `helpers.kernels.activations`, `helpers.kernels.softmax`: activation functions, their derivatives, softmax.
- `helpers.kernels.convolution`, `helpers.kernels.recurrent`, `helpers.kernels.attention`, `helpers.lessons.network_families`:
  the network families and their defining operations.
- `helpers.kernels.dropout`, `helpers.kernels.batch_norm`: regularization inside the network.
- `helpers.kernels.normalization`, `helpers.lessons.data_augmentation`: regularization of the inputs.

Experiments and what they show:

- `helpers.lessons.activation_functions`, `helpers.core.models`, `helpers.core.diagnostics`, `helpers.lessons.vanishing_gradients`:
  dead units, deep networks and per-layer activation and gradient statistics.
- `helpers.lessons.input_normalization`, `helpers.core.seed_spread`, `helpers.core.figures`: the wrong-feature
  experiment, comparisons over seeds, grids of digits.
- `helpers.lessons.classifying_digits`, `helpers.core.progress`, `helpers.core.checkpoints`, `helpers.lessons.inspection`,
  `helpers.core.timing`: the worked MNIST example, its progress display, saved models,
  inspection and timing.
"""
