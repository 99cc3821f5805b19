"""Helpers that the Deep Learning Fundamentals notebooks import.

One module per concern:

- `helpers.paths`: where the repository, its data and its run artefacts live.
- `helpers.data`: the offline MNIST copy, verified before use.
- `helpers.device`: choosing CUDA, Apple MPS or the CPU.
- `helpers.seeding`: one call that seeds Python, NumPy and PyTorch.
- `helpers.explorer`: interactive figures, live in JupyterLab and static on the website.
- `helpers.execute`: re-executing notebooks in place, as the website needs them.
"""
