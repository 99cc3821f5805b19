"""Repository-wide pytest set-up: how the notebooks run in the test suite (CONTRIBUTING.md, "The test suite").

- nbval runs every notebook headless, each code cell a test item, with `DLF_HEADLESS=1` as
  `python -m helpers.execute` runs it. In the same kernel, after the notebook's last cell, it then
  runs each exercise solution with the checks hidden beside it (`tests/notebook_code.py`).
- tests/test_jupyterlab.py runs every notebook live in JupyterLab, and what it prints must equal
  what nbval's run printed. A notebook's nbval items and its live test form one xdist group, which
  one worker runs in order, so the live test finds nbval's outputs in its own process.
- Two pytest-xdist workers (`--dist loadgroup`, pyproject.toml) share the cores, each kernel with
  half of them (one thread each on a 2-core CPU; the thread count can move the last digits of a
  result, and nbval compares no stored output). The website test is one group too: it renders the
  site once.
"""

import os
from collections import defaultdict
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile
from notebook_code import solution_cells  # in tests/, which pyproject.toml puts on the path

os.environ["DLF_HEADLESS"] = "1"
# Kernels import `helpers` from this checkout, even where the course is installed (editable) from another one.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")])
)
os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 2) // 2))  # read by PyTorch as it starts

LIVE_TEST = "test_every_notebook_runs_live_in_jupyterlab_as_it_runs_headless"

# notebook path -> {code cell number: outputs of that cell, as nbval executed it}
_nbval_outputs: dict[Path, dict[int, list]] = {}


class NotebookAndSolutions(IPyNbFile):
    """nbval's items for a notebook's code cells, then one item per exercise solution, run in the same kernel."""

    def collect(self):
        cells = list(super().collect())
        yield from cells
        for number, cell in enumerate(solution_cells(self.path), start=len(cells)):
            options = defaultdict(bool, check=False)
            yield IPyNbCell.from_parent(
                self, name=f"Solution {number - len(cells) + 1}", cell_num=number, cell=cell, options=options
            )


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """nbval's collector of a notebook, extended by the notebook's exercise solutions."""
    collected = yield
    return [
        NotebookAndSolutions.from_parent(parent, path=file_path) if type(node) is IPyNbFile else node
        for node in collected
    ]


def _group(item) -> str | None:
    """The xdist group of a test: its notebook's name for nbval's items and the live test, "website" for the
    website test, none for the others."""
    if item.path.suffix == ".ipynb":
        return item.path.stem
    if getattr(item, "originalname", None) == LIVE_TEST:
        return Path(item.callspec.params["path"]).stem
    return "website" if item.path.name == "test_website.py" else None


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """Mark nbval's items `slow` (`pytest -m "not slow"` leaves them out), group each notebook's items with its
    live test, and put every notebook's items before the live tests, which need their outputs."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.path.suffix != ".ipynb")  # a stable sort keeps each part in its order


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
            by_nbval = [_nbval_outputs.get(path, {}).get(number) for number in range(len(code))]
            ran = all(cell is not None for cell in by_nbval)
            if ran and not any(output.get("output_type") == "error" for cell in by_nbval for output in cell):
                executed[path] = by_nbval
            else:
                NotebookClient(
                    notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                ).execute()
                executed[path] = [cell.outputs for cell in code]
        return executed[path]

    return outputs
