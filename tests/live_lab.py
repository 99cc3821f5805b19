"""One JupyterLab, in one browser tab, for the whole test session; notebooks run in it live, in the background.

`LiveLab.start(path)` opens a notebook and starts Run All Cells without waiting for it;
`LiveLab.wait(path)` waits until the kernel is idle again, failing after a time limit that
names the cells still running.

Notebooks train live, with no saved models: the server gets an empty artifacts folder.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import chromium
from lab_server import LabServer, running_jupyterlab
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers.core.paths import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "jupyterlab"  # the JupyterLab tests' log and screenshots (git-ignored)
KERNEL_START_TIMEOUT_S = 120
UNTRUSTED_NOTE = "Run this cell to explore other values."  # shown by a stored explorer until its script runs
STORED_CONTROLS = ".dlf-explorer select, .dlf-explorer input"

KERNEL_IDLE = "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
APP_RESTORED = "() => window.jupyterapp.restored.then(() => null)"
OPEN_NOTEBOOK = (
    "path => window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'}).then(() => null)"
)
# Disposing a document's widget closes it without the save prompt that closing a changed notebook asks.
CLOSE_DOCUMENTS = """() => {
  for (const widget of Array.from(window.jupyterapp.shell.widgets('main'))) widget.dispose();
  for (const dialog of document.querySelectorAll('.jp-Dialog')) dialog.querySelector('.jp-mod-reject')?.click();
}"""
START_RUN_ALL = """() => {
  window.dlfRunAll = 'running';
  window.jupyterapp.commands.execute('notebook:run-all-cells')
    .then(() => { window.dlfRunAll = 'done'; }, error => { window.dlfRunAll = String(error); });
}"""
RUNNING_CELLS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'))
  .filter(cell => cell.querySelector('.jp-InputPrompt')?.textContent.includes('*'))
  .map(cell => cell.querySelector('.jp-InputArea-editor')?.textContent.trim().slice(0, 120))"""


@dataclass
class LiveRun:
    """A notebook's Run All Cells in the tab: when it started, and what the notebook showed before it."""

    started: float
    untrusted_notes: int  # stored explorers that say to run their cell
    stored_controls: int  # controls that stored explorers show (they cannot work before the cell runs)


class LiveLab:
    """A JupyterLab server and a tab in the session's Chromium, started on first use; `close` ends both."""

    def __init__(self, root: Path, log: Path):
        self.root, self.log = root, log
        self._resources = ExitStack()
        self._server: LabServer | None = None
        self._tab: Page | None = None
        self._runs: dict[Path, LiveRun | Exception] = {}
        self._shutdowns: list[threading.Thread] = []

    @property
    def server(self) -> LabServer:
        """The server, on 127.0.0.1, with an empty artifacts folder of its own (removed by `close`)."""
        if self._server is None:
            artifacts = tempfile.mkdtemp(prefix="dlf-live-artifacts-")
            self._resources.callback(shutil.rmtree, artifacts, ignore_errors=True)
            self._server = self._resources.enter_context(
                running_jupyterlab(self.root, self.log, env={"DLF_ARTIFACTS_DIR": artifacts})
            )
        return self._server

    @property
    def tab(self) -> Page:
        """The tab, with JupyterLab loaded (about 4 s on a 2-core CPU, once), reaching nothing but the server."""
        if self._tab is None:
            server = self.server
            context = chromium().new_context(viewport={"width": 1280, "height": 900})
            self._resources.callback(context.close)
            context.set_default_timeout(30_000)
            context.route(lambda url: not url.startswith(server.url), lambda route: route.abort())
            tab = context.new_page()
            tab.script_errors = []
            tab.on("pageerror", lambda error: tab.script_errors.append(str(error)))
            tab.goto(f"{server.url}lab?token={server.token}&reset")
            tab.wait_for_function("() => window.jupyterapp !== undefined", timeout=KERNEL_START_TIMEOUT_S * 1000)
            tab.evaluate(APP_RESTORED)
            self._tab = tab
        return self._tab

    def open(self, path: Path) -> None:
        """Open `path` in the tab (or bring it to the front), with the file browser folded away, and wait
        for its kernel."""
        self.tab.evaluate(OPEN_NOTEBOOK, path.relative_to(self.root).as_posix())
        self.tab.wait_for_function(KERNEL_IDLE, timeout=KERNEL_START_TIMEOUT_S * 1000, polling=500)
        self.tab.evaluate("() => window.jupyterapp.shell.collapseLeft()")

    def start(self, path: Path, stored_explorers: int) -> None:
        """Open the notebook and start Run All Cells; return at once. Does nothing if already started.

        What the notebook's `stored_explorers` show before the run is recorded first. A failure is
        kept and raised by `wait`, so that it reaches the test that waits, not whoever started the run.
        """
        if path in self._runs:
            return
        try:
            self.tab.script_errors.clear()  # from here on the tab's script errors are the notebook's
            self.open(path)
            notes = self.tab.locator(".jp-Notebook").get_by_text(UNTRUSTED_NOTE)
            # outputs render after the notebook opens: give the stored ones a bounded while to appear
            with suppress(AssertionError):
                expect(notes).to_have_count(stored_explorers)
            before = LiveRun(time.monotonic(), notes.count(), self.tab.locator(STORED_CONTROLS).count())
            self.tab.evaluate(START_RUN_ALL)
            self._runs[path] = before
        except Exception as error:  # handed to the waiting test
            self._runs[path] = error

    def wait(self, path: Path, timeout_s: float) -> LiveRun:
        """Wait until the run started for `path` has finished and the kernel is idle; fail `timeout_s`
        after its start, naming the cells still running."""
        run = self._runs.pop(path)
        if isinstance(run, Exception):
            raise run
        remaining_ms = max(1.0, (run.started + timeout_s - time.monotonic()) * 1000)  # 0 would mean no limit
        try:
            self.tab.wait_for_function(
                f"() => window.dlfRunAll !== 'running' && ({KERNEL_IDLE})()", timeout=remaining_ms, polling=1000
            )
        except PlaywrightTimeout:
            pytest.fail(
                f"the notebook was still running after {timeout_s:g} s; running or queued cells: "
                f"{self.tab.evaluate(RUNNING_CELLS)}"
            )
        outcome = self.tab.evaluate("() => window.dlfRunAll")
        assert outcome == "done", f"Run All Cells failed: {outcome}"
        return run

    def close_documents(self) -> None:
        """Close every open document without saving it, and any dialog left open; forget unfinished runs."""
        self._runs.clear()
        self.tab.evaluate(CLOSE_DOCUMENTS)
        expect(self.tab.locator(".jp-Dialog")).to_have_count(0)

    def shut_down_kernels(self, *, wait: bool = False) -> None:
        """Shut down every kernel the server runs. In the background unless `wait`: a kernel takes seconds
        to stop, and the next notebook need not wait for that (`close` does)."""
        if wait:
            for thread in self._shutdowns:
                thread.join()
            self.server.shut_down_kernels()
            return
        kernel_ids = [kernel["id"] for kernel in self.server.api("kernels")]
        thread = threading.Thread(target=self.server.shut_down_kernels, args=(kernel_ids,))
        thread.start()
        self._shutdowns.append(thread)

    def close(self) -> None:
        """Close the tab and stop the server with its kernels."""
        for thread in self._shutdowns:
            thread.join()
        self._resources.close()
        self._server = self._tab = None


_SESSION_LAB = pytest.StashKey[LiveLab]()


def session_lab(config: pytest.Config) -> LiveLab:
    """The session's JupyterLab, started on first use."""
    if _SESSION_LAB not in config.stash:
        config.stash[_SESSION_LAB] = LiveLab(REPO_ROOT, ARTIFACTS / "jupyterlab.log")
    return config.stash[_SESSION_LAB]


def close_session_lab(config: pytest.Config) -> None:
    """Stop the session's JupyterLab, if it was started."""
    if _SESSION_LAB in config.stash:
        config.stash[_SESSION_LAB].close()
        del config.stash[_SESSION_LAB]
