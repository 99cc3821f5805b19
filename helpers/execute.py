"""Re-execute notebooks in place, top to bottom in a fresh kernel, as the website needs them.

    python -m helpers.execute                 # every notebook in notebooks/
    python -m helpers.execute notebooks/02-activation-functions.ipynb

Each notebook runs in its own folder with `DLF_HEADLESS=1`, so explorers store
precomputed frames; widget state is saved in the notebook's metadata, and
per-cell timing metadata is left out so that re-running changes only what the
code changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers.core.explorer import HEADLESS_ENV_VAR
from helpers.core.paths import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"


def notebook_paths() -> list[Path]:
    """Every notebook of the course, in course order (their names start with a number)."""
    return sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))


def execute_notebook(path: str | Path, *, timeout: int = 900) -> float:
    """Execute the notebook at `path` in place and return the seconds it took."""
    path = Path(path).resolve()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute(env={**os.environ, HEADLESS_ENV_VAR: "1"})  # the kernel's environment only
    elapsed = time.perf_counter() - start
    nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebook_paths()
    for path in paths:
        if not path.is_file():
            parser.error(f"no notebook at {path}")
    for path in paths:
        print(f"executing {path} ...", flush=True)
        print(f"  done in {execute_notebook(path, timeout=args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
