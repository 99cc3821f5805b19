"""Helpers that the Deep Learning Fundamentals notebooks import. The layout is the plan:

`helpers.core`: the shared core, which every notebook and every lesson module may use.

- `paths`: where the repository, its data and its run artefacts live.
- `data`: the offline MNIST copy, verified before use.
- `device`, `seeding`: choosing CUDA, Apple MPS or the CPU; one call that seeds everything.
- `checks`: the argument checks several helpers share, and `checked`, which guards a kernel.
- `models`: `mlp`, the one builder of every network the course trains.
- `training`: the one training loop (`fit`), the one evaluation, and their named results
  (`Evaluation`, `History`, `Run`); written out in notebook 07.
- `diagnostics`: per-layer statistics through hooks (`LayerMonitor`, `diagnose`); written out in notebook 03.
- `explorer`: interactive figures, live in JupyterLab and precomputed on the website.
- `figures`, `seed_spread`: image grids; runs compared over seeds.
- `progress`, `checkpoints`, `timing`: training progress, saved models, how long a run took.
- `claims`: `claim(condition, sentence)`, which backs a sentence of a notebook's prose with a check.
- `files`: `replace_atomically`, so that a file is replaced whole or not at all.
- `exercises`: `Case` and `check_cases`, on which every lesson's `check_...` gives a student feedback.

`helpers.kernels`: the from-scratch maths the course teaches, checked against PyTorch.
Each kernel is a bare public function whose body is the idea (`sigmoid`, `softmax`,
`dropout`, `cross_correlate2d`, `rnn_step`, `scaled_dot_product_attention`, `BatchNorm`);
its validation sits in `check_*` functions that `@checked` runs first (or in the
layer's constructor). Modules: `activations`, `softmax`, `dropout`, `batch_norm`,
`normalization`, `convolution`, `recurrent`, `attention`.

`helpers.lessons`: each notebook's own experiments and figures, one module per notebook
and named after it (`notebooks/02-activation-functions.ipynb` owns
`helpers.lessons.activation_functions`). A lesson imports only the core and the kernels,
never another lesson; `tests/test_layout.py` enforces it.

`helpers.execute`: the tool that re-executes notebooks in place (`python -m helpers.execute`).
"""
