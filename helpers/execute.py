"""Re-execute notebooks in place, top to bottom in a fresh kernel, as the website needs them.

    python -m helpers.execute                 # every notebook in notebooks/
    python -m helpers.execute notebooks/02-activation-functions.ipynb

Each notebook runs in its own folder with `DLF_HEADLESS=1`, so explorers store
precomputed frames; widget state is saved in the notebook's metadata, and
per-cell timing metadata is left out so that re-running changes only what the
code changed. A notebook is replaced atomically, and only when every cell ran;
a failing notebook is reported in one line (cell, error, message), the others
still run, and the command exits non-zero with a summary.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from helpers.core.explorer import HEADLESS_ENV_VAR
from helpers.core.files import replace_atomically
from helpers.core.paths import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# A course notebook: two digits, a dash, lower-case words ("07-classifying-digits.ipynb"); not
# JupyterLab's duplicates ("07-classifying-digits-Copy1.ipynb") or other files left beside them.
NOTEBOOK_NAME = re.compile(r"\d{2}(-[a-z0-9]+)+\.ipynb")


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error; the message says where, in one line."""


def notebook_paths() -> list[Path]:
    """Every notebook of the course, in course order (their names start with a number)."""
    return sorted(
        path
        for path in NOTEBOOK_DIR.glob("*.ipynb")
        if NOTEBOOK_NAME.fullmatch(path.name) and not re.search(r"-copy\d*$", path.stem)
    )


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at `path`; `ValueError` with a one-line reason if the file is not one."""
    if path.suffix != ".ipynb":
        raise ValueError(f"{path} is not a notebook: its name must end in .ipynb")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty, not a notebook; restore it with `git checkout -- {path}`")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and version errors alike
        raise ValueError(
            f"{path} is not a valid notebook ({type(error).__name__}); restore it with `git checkout -- {path}`"
        ) from None


def _failure(notebook: nbformat.NotebookNode, error: Exception) -> str:
    """Where and why execution stopped, in one line."""
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index} raised {output.ename}: {output.evalue}"
    if isinstance(error, CellExecutionError):
        return f"{error.ename}: {error.evalue}"
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"


def execute_notebook(path: str | Path, *, timeout: int = 900) -> float:
    """Execute the notebook at `path` in place and return the seconds it took.

    Raises `NotebookFailed` (the file left as it was) when a cell fails.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    path = Path(path).resolve()
    notebook = read_notebook(path)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
        # Once every cell has run, stop the kernel at once: a kernel that imported PyTorch takes 1.5 to 3.5 s
        # to wind itself down (module teardown), and nothing the notebook needs happens then.
        shutdown_kernel="immediate",
    )
    start = time.perf_counter()
    try:
        client.execute(env={**os.environ, HEADLESS_ENV_VAR: "1"})  # the kernel's environment only
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        raise NotebookFailed(_failure(notebook, error)) from None
    elapsed = time.perf_counter() - start
    text = nbformat.writes(notebook)
    replace_atomically(path, lambda stream: stream.write((text if text.endswith("\n") else text + "\n").encode()))
    return elapsed


def _positive_seconds(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, got {text!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {seconds}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute (default: all)")
    parser.add_argument("--timeout", type=_positive_seconds, default=900, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebook_paths()
    for path in paths:
        if not path.is_file():
            parser.error(f"no notebook at {path}")
        try:
            read_notebook(path)
        except ValueError as error:
            parser.error(str(error))
    failed = []
    for path in paths:
        print(f"executing {path} ...", flush=True)
        try:
            print(f"  done in {execute_notebook(path, timeout=args.timeout):.1f} s", flush=True)
        except NotebookFailed as error:
            print(f"  FAILED: {error} (the notebook on disk is unchanged)", flush=True)
            failed.append(path)
    if failed:
        print(
            f"{len(failed)} of {len(paths)} notebooks failed: {', '.join(str(path) for path in failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
