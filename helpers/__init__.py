"""Helpers that the Deep Learning Fundamentals notebooks import, one module per concern.

Infrastructure, used by every notebook:

- `helpers.paths`: where the repository, its data and its run artefacts live.
- `helpers.data`: the offline MNIST copy, verified before use.
- `helpers.device`: choosing CUDA, Apple MPS or the CPU.
- `helpers.seeding`: one call that seeds Python, NumPy and PyTorch.
- `helpers.training`: the shared training loop over in-memory tensors.
- `helpers.explorer`: interactive figures, live in JupyterLab and static on the website.
- `helpers.execute`: re-executing notebooks in place, as the website needs them.

Building blocks, written from scratch and checked against PyTorch:

- `helpers.activations`, `helpers.softmax`: activation functions, their derivatives, softmax.
- `helpers.convolution`, `helpers.recurrent`, `helpers.attention`, `helpers.families`:
  the network families and their defining operations.
- `helpers.dropout`, `helpers.batch_norm`: regularization inside the network.
- `helpers.normalization`, `helpers.augmentation`: regularization of the inputs.

Experiments and what they show:

- `helpers.dying_relu`, `helpers.deep_mlp`, `helpers.diagnostics`, `helpers.vanishing`:
  dead units, deep networks and per-layer activation and gradient statistics.
- `helpers.spurious`, `helpers.seed_spread`, `helpers.image_grid`: the wrong-feature
  experiment, comparisons over seeds, grids of digits.
- `helpers.digits`, `helpers.progress`, `helpers.checkpoints`, `helpers.inspection`,
  `helpers.speed`: the worked MNIST example, its progress display, saved models,
  inspection and timing.
"""
