"""Re-execute notebooks in place, top to bottom in a fresh kernel, as the website needs them.

    python -m helpers.execute                 # every notebook in notebooks/
    python -m helpers.execute notebooks/02-activation-functions.ipynb

Each notebook runs in its own folder with `DLF_HEADLESS=1`, so explorers store
precomputed frames; widget state is saved in the notebook's metadata, and
per-cell timing metadata is left out so that re-running changes only what the
code changed. The kernel imports `helpers` from this checkout (it comes first on
the kernel's `PYTHONPATH`), whichever checkout is installed, and talks to this
process over local sockets (IPC), not TCP. A notebook is replaced atomically, and
only when every cell ran and the file did not change meanwhile (then the executed
copy is saved beside it); a failing notebook is reported in one line, the others
still run, and the command exits non-zero with a summary. Ctrl-C stops at once,
leaves the notebook being run as it was and exits with status 130.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets.config import Config

from helpers.core.explorer import HEADLESS_ENV_VAR
from helpers.core.files import replace_atomically
from helpers.core.paths import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# A course notebook: two digits, a dash, lower-case words ("07-classifying-digits.ipynb"); not
# JupyterLab's duplicates ("07-classifying-digits-Copy1.ipynb") or other files left beside them.
NOTEBOOK_NAME = re.compile(r"\d{2}(-[a-z0-9]+)+\.ipynb")
UNCHANGED = "the notebook on disk is unchanged"


class NotebookFailed(RuntimeError):
    """A notebook was not replaced; the message says why, in one line."""


def notebook_paths() -> list[Path]:
    """Every notebook of the course, in course order (their names start with a number)."""
    return sorted(
        path
        for path in NOTEBOOK_DIR.glob("*.ipynb")
        if NOTEBOOK_NAME.fullmatch(path.name) and not re.search(r"-copy\d*$", path.stem)
    )


def read_notebook(path: Path, content: bytes | None = None) -> nbformat.NotebookNode:
    """The notebook at `path` (or in `content`, its bytes); `ValueError` with a one-line reason if it is not one."""
    if path.suffix != ".ipynb":
        raise ValueError(f"{path} is not a notebook: its name must end in .ipynb")
    content = path.read_bytes() if content is None else content
    if not content:
        raise ValueError(f"{path} is empty, not a notebook; restore it with `git checkout -- {path}`")
    try:
        return nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and version errors alike
        raise ValueError(
            f"{path} is not a valid notebook ({type(error).__name__}); restore it with `git checkout -- {path}`"
        ) from None


def _failure(index: int, error: Exception, timeout: int) -> str:
    """Which cell stopped the run and how, in one line."""
    if isinstance(error, CellExecutionError):
        return f"cell {index} raised {error.ename}: {error.evalue}"
    if isinstance(error, CellTimeoutError):
        return f"cell {index} was still running after {timeout} s and was stopped; raise --timeout if it needs longer"
    return f"cell {index} ended the kernel: it exited or crashed"


def _save(path: Path, notebook: nbformat.NotebookNode) -> None:
    text = nbformat.writes(notebook)
    replace_atomically(path, lambda stream: stream.write((text if text.endswith("\n") else text + "\n").encode()))


def execute_notebook(path: str | Path, *, timeout: int = 900) -> float:
    """Execute the notebook at `path` in place and return the seconds it took.

    Raises `NotebookFailed` when a cell fails or hangs, when the folder cannot be
    written (checked before running), or when the file changed while it ran (then
    it is kept, and the executed copy saved beside it as `<name>.executed.ipynb`).
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    path = Path(path).resolve()
    stored = path.read_bytes()
    notebook = read_notebook(path, stored)
    try:
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as error:
        raise NotebookFailed(f"cannot write in {path.parent} ({error.strerror}), so it was not run") from None
    with tempfile.TemporaryDirectory(prefix="dlf-kernel-") as sockets:
        # IPC: the kernel's sockets are files only this user can reach, where TCP would warn that loopback
        # traffic is unencrypted. Windows has no IPC sockets, so there it stays on TCP (127.0.0.1 only).
        transport = {"transport": "ipc", "ip": str(Path(sockets) / "kernel")} if os.name == "posix" else {}
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
            config=Config({"KernelManager": transport}),
        )
        # The kernel's environment only: headless explorers, and this checkout's helpers before any installed one.
        python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, HEADLESS_ENV_VAR: "1", "PYTHONPATH": python_path}
        start = time.perf_counter()
        index = 0
        try:
            # Cell by cell rather than `client.execute()`, which would catch Ctrl-C itself and fail obscurely.
            with client.setup_kernel(env=env):
                reply = client.wait_for_reply(client.kc.kernel_info())
                notebook.metadata["language_info"] = reply["content"]["language_info"]
                for index, cell in enumerate(notebook.cells):
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                client.set_widgets_metadata()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            raise NotebookFailed(f"{_failure(index, error, timeout)} ({UNCHANGED})") from None
    elapsed = time.perf_counter() - start
    try:
        if path.exists() and path.read_bytes() == stored:
            _save(path, notebook)
            return elapsed
        copy = path.with_name(f"{path.stem}.executed.ipynb")
        _save(copy, notebook)
    except OSError as error:
        raise NotebookFailed(f"could not save it ({error.strerror}); {UNCHANGED}") from None
    raise NotebookFailed(f"it changed on disk while it ran, so it was kept as it is; the executed copy is {copy}")


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
    for done, path in enumerate(paths):
        print(f"executing {path} ...", flush=True)
        try:
            print(f"  done in {execute_notebook(path, timeout=args.timeout):.1f} s", flush=True)
        except NotebookFailed as error:
            print(f"  FAILED: {error}", flush=True)
            failed.append(path)
        except KeyboardInterrupt:
            print(f"  INTERRUPTED ({UNCHANGED})", flush=True)
            for skipped in paths[done + 1 :]:
                print(f"skipped {skipped}", flush=True)
            print(f"interrupted: {done - len(failed)} of {len(paths)} notebooks executed", file=sys.stderr)
            return 130
    if failed:
        print(
            f"{len(failed)} of {len(paths)} notebooks failed: {', '.join(str(path) for path in failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
