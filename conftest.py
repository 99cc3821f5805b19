"""Repository-wide pytest set-up.

Notebooks run by nbval inherit this environment: explorers store precomputed
frames exactly as they do when `python -m helpers.execute` executes them.

nbval's headless run of each notebook is also the reference that the JupyterLab
browser test compares its live run with: the outputs of every cell nbval runs
are kept, and the browser tests are moved after the notebooks, so that each
notebook is executed headless once per session. The `headless_outputs` fixture
hands them out (and executes a notebook itself when nbval did not run it).
"""

import os
from pathlib import Path

import pytest

os.environ["DLF_HEADLESS"] = "1"

# notebook path -> {code cell number: outputs of that cell, as nbval executed it}
_nbval_outputs: dict[Path, dict[int, list]] = {}


def pytest_collection_modifyitems(items):
    """Mark nbval's items `slow` and run the JupyterLab tests last, after nbval has executed their notebooks.

    Running a notebook is slow, so `pytest -m "not slow"` skips nbval's items.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.path.name == "test_jupyterlab.py")  # a stable sort keeps the rest in order


def pytest_runtest_teardown(item):
    outputs = getattr(item, "test_outputs", None)  # set by nbval for each notebook cell it runs
    if outputs is not None and hasattr(item, "cell_num"):
        _nbval_outputs.setdefault(Path(item.path).resolve(), {})[item.cell_num] = outputs


@pytest.fixture(scope="session")
def headless_outputs():
    """`outputs(path)`: each code cell's outputs from a headless run of the notebook in this session.

    nbval's run when it executed every code cell of the notebook without error;
    otherwise the notebook is executed here, once, as `python -m helpers.execute`
    would (without saving it).
    """
    import nbformat
    from nbclient import NotebookClient

    executed: dict[Path, list[list]] = {}

    def outputs(path: Path) -> list[list]:
        path = Path(path).resolve()
        if path not in executed:
            notebook = nbformat.read(path, as_version=4)
            code = [cell for cell in notebook.cells if cell.cell_type == "code"]
            by_nbval = _nbval_outputs.get(path, {})
            failed = any(output.get("output_type") == "error" for cell in by_nbval.values() for output in cell)
            if len(by_nbval) == len(code) and not failed:
                executed[path] = [by_nbval[number] for number in range(len(code))]
            else:
                NotebookClient(
                    notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                ).execute()
                executed[path] = [cell.outputs for cell in code]
        return executed[path]

    return outputs
