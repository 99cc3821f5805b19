"""Repository-wide pytest set-up: where nbval's notebook runs meet the JupyterLab test.

Notebooks run by nbval inherit this environment: explorers store precomputed
frames exactly as they do when `python -m helpers.execute` executes them.

Each notebook runs twice in a session: headless, by nbval, and live, in JupyterLab
(tests/test_jupyterlab.py), which must print what the headless run printed. The two
runs of a notebook go side by side: as nbval starts a notebook, the same notebook
starts running live in JupyterLab in the background (tests/live_lab.py), and its
JupyterLab test comes right after nbval's cells and waits for it. Every kernel gets
half the machine's cores, so the two compute at once instead of waiting on each
other (on 2 cores: one thread each). The thread count can move the last digits of a
result, which is why both runs get the same count; nbval compares no stored numbers.

nbval's outputs of every cell are kept: they are the headless run that the
JupyterLab test compares with (`headless_outputs`).
"""

import os
from pathlib import Path

import pytest

os.environ["DLF_HEADLESS"] = "1"
os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 2) // 2))  # read by PyTorch as it starts

LIVE_TEST = "test_every_notebook_runs_live_in_jupyterlab_as_it_runs_headless"
_live_to_start = pytest.StashKey[set]()  # notebooks with a live test, until nbval starts them

# notebook path -> {code cell number: outputs of that cell, as nbval executed it}
_nbval_outputs: dict[Path, dict[int, list]] = {}


def _live_notebook(item) -> Path | None:
    """The notebook that `item` runs live, if it is the JupyterLab test of one."""
    if getattr(item, "originalname", None) == LIVE_TEST:
        return Path(item.callspec.params["path"]).resolve()
    return None


def pytest_collection_modifyitems(config, items):
    """Mark nbval's items `slow`, and order the session: other tests first, then each notebook's nbval
    cells followed by its live JupyterLab test, then the other JupyterLab tests.

    Running a notebook is slow, so `pytest -m "not slow"` skips nbval's items.
    """
    live = {}
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
        elif (notebook := _live_notebook(item)) is not None:
            live[item] = notebook

    def place(item):
        if item.path.suffix == ".ipynb":
            return 1, str(Path(item.path).resolve()), 0
        if item in live:
            return 1, str(live[item]), 1
        return (2, "", 0) if item.path.name == "test_jupyterlab.py" else (0, "", 0)

    items.sort(key=place)  # a stable sort keeps each group in its order
    config.stash[_live_to_start] = set(live.values())


# Run by the worker that runs the other tests, so that the two workers end together: on 2 cores the
# notebooks had taken about 425 s and the rest about 360 s; with this one moved, each about 370 s.
BESIDE_THE_OTHER_TESTS = "05-data-augmentation.ipynb"


def _work_unit(item_id: str) -> str:
    """What one pytest-xdist worker runs from start to end: the notebooks, each headless and live (the live
    test needs nbval's outputs), but `BESIDE_THE_OTHER_TESTS` as a unit of its own; the whole website test
    (it renders the site once); any other test alone."""
    if item_id.startswith(
        (f"notebooks/{BESIDE_THE_OTHER_TESTS}::", f"tests/test_jupyterlab.py::{LIVE_TEST}[{BESIDE_THE_OTHER_TESTS}]")
    ):
        return BESIDE_THE_OTHER_TESTS
    if item_id.startswith(("notebooks/", f"tests/test_jupyterlab.py::{LIVE_TEST}[")):
        return "notebooks"
    return "website" if item_id.startswith("tests/test_website.py") else item_id


def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadscope` (pyproject.toml), the work units of `_work_unit`, largest first: while one
    worker runs the notebooks, headless and live side by side, the other runs the rest of the tests."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return WorkUnits(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """As nbval starts a notebook (its first cell) whose live run is tested, start that live run in
    JupyterLab: the notebook is opened first, so that JupyterLab starts its kernel while nbval starts its own."""
    path = Path(item.path).resolve()
    lab = None
    if item.path.suffix == ".ipynb" and path in item.config.stash.get(_live_to_start, ()):
        item.config.stash[_live_to_start].remove(path)
        # tests/ is on sys.path: pytest put it there to import the JupyterLab test, which was collected
        from browser_support import CHROMIUM, stored_explorers
        from live_lab import session_lab

        if os.path.exists(CHROMIUM):  # else the JupyterLab test skips, or fails in CI
            lab = session_lab(item.config)
            lab.prepare(path)
    try:
        return (yield)
    finally:
        if lab is not None:
            lab.start(path, len(stored_explorers(path)))


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
