"""Repository-wide pytest set-up.

Notebooks run by nbval inherit this environment: explorers store precomputed
frames exactly as they do when `python -m helpers.execute` executes them.
"""

import os

import pytest

os.environ["DLF_HEADLESS"] = "1"


def pytest_collection_modifyitems(items):
    """Running a notebook is slow: nbval's items carry the `slow` marker, so `pytest -m "not slow"` skips them."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
