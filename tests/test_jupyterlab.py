"""The explorers work in JupyterLab as a student meets them: live widgets, in a real browser.

Every notebook whose stored outputs hold an explorer is opened in a throw-away
JupyterLab (`lab_server`) in Debian's headless Chromium. All cells run, with a
bounded wait for the kernel. No cell may show an error and no widget may fail to
display; every explorer must show its controls, and moving one of them must make
the kernel redraw a different picture. The stored frames say which move changes
the picture, so a control that some choices ignore is never the one tried.
A screenshot per notebook goes to test-artifacts/jupyterlab/.
"""

from __future__ import annotations

import time
from contextlib import suppress
from pathlib import Path

import nbformat
import pytest
from browser_support import notebooks_with_explorers, stored_explorers
from lab_server import LabServer, running_jupyterlab
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers.core.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # drives JupyterLab in a browser

ARTIFACTS = REPO_ROOT / "test-artifacts" / "jupyterlab"
KERNEL_START_TIMEOUT_S = 120
RUN_ALL_TIMEOUT_S = 240  # per notebook: a hung kernel fails the test instead of hanging CI
REDRAW_TIMEOUT_S = 30
LIVE_EXPLORER = ".widget-vbox:has(> .widget-hbox):has(> img.widget-image)"
CONTROLS = ".widget-dropdown select, .widget-hslider .noUi-handle"
WIDGET_ERRORS = (
    "Error displaying widget",
    "Failed to load model class",
    "Could not create a model",
    "Could not create a view",
    "Loading widget...",
)  # the last: never displayed

KERNEL_IDLE = "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
START_RUN_ALL = """() => {
  window.dlfRunAll = 'running';
  window.jupyterapp.commands.execute('notebook:run-all-cells')
    .then(() => { window.dlfRunAll = 'done'; }, error => { window.dlfRunAll = String(error); });
}"""
RUNNING_CELLS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'))
  .filter(cell => cell.querySelector('.jp-InputPrompt')?.textContent.includes('*'))
  .map(cell => cell.querySelector('.jp-InputArea-editor')?.textContent.trim().slice(0, 120))"""
CELL_PROBLEMS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells, problems = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code' || !cell.sharedModel.getSource().trim()) continue;
    if (cell.executionCount === null) problems.push(`cell ${i} did not run`);
    for (const output of cell.outputs.toJSON())
      if (output.output_type === 'error') problems.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
  }
  return problems;
}"""
IMAGE_BYTES = """async image => {
  const blob = await (await fetch(image.src)).blob();
  return await new Promise(done => { const reader = new FileReader();
    reader.onload = () => done(reader.result); reader.readAsDataURL(blob); });
}"""
POSITION = """control => control.tagName === 'SELECT' ? [control.selectedIndex, control.options.length]
  : [Number(control.getAttribute('aria-valuenow')), Number(control.getAttribute('aria-valuemax')) + 1]"""


@pytest.fixture(scope="module")
def lab(browser):
    """A JupyterLab serving the repository; started after the browser, so a missing Chromium skips first."""
    with running_jupyterlab(REPO_ROOT, ARTIFACTS / "jupyterlab.log") as server:
        yield server


@pytest.fixture
def page(browser, lab):
    """A fresh browser tab that reaches nothing but the server; its kernels are shut down afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.route(lambda url: not url.startswith(lab.url), lambda route: route.abort())
    page = context.new_page()
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
        lab.shut_down_kernels()


def open_notebook(page: Page, lab: LabServer, path: Path) -> None:
    """Open `path` in JupyterLab, with the file browser folded away, and wait for its kernel."""
    page.goto(lab.lab_url(path))
    page.wait_for_function(KERNEL_IDLE, timeout=KERNEL_START_TIMEOUT_S * 1000, polling=500)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")


def run_all_cells(page: Page, timeout_s: float) -> None:
    """Run All Cells, as from the Run menu, and wait until the kernel is idle; fail after `timeout_s`."""
    page.evaluate(START_RUN_ALL)
    try:
        page.wait_for_function(
            f"() => window.dlfRunAll !== 'running' && ({KERNEL_IDLE})()", timeout=timeout_s * 1000, polling=1000
        )
    except PlaywrightTimeout:
        pytest.fail(
            f"the notebook was still running after {timeout_s:g} s; running or queued cells: "
            f"{page.evaluate(RUNNING_CELLS)}"
        )
    outcome = page.evaluate("() => window.dlfRunAll")
    assert outcome == "done", f"Run All Cells failed: {outcome}"


def problems_shown(page: Page) -> list[str]:
    """Code cells that did not run or ended in an error, tracebacks shown, and widgets that failed to display."""
    with suppress(AssertionError):  # give widgets a bounded while to display; those still loading are reported
        expect(page.locator(".jp-OutputArea-output", has_text="Loading widget...")).to_have_count(
            0, timeout=REDRAW_TIMEOUT_S * 1000
        )
    problems = page.evaluate(CELL_PROBLEMS)
    stderr = page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]', has_text="Traceback")
    problems += [f"traceback shown: {text.strip()[-300:]}" for text in stderr.all_text_contents()]
    text = page.locator(".jp-Notebook").text_content()
    return problems + [f"widget: {error}" for error in WIDGET_ERRORS if error in text]


def a_move_that_redraws(frames: dict[str, int], positions: list[tuple[int, int]]) -> tuple[int, int]:
    """(control, new position) of the first one-step move that the stored `frames` draw differently.

    `positions` holds each control's (position, number of positions), read from the live widget.
    """
    current = [position for position, _ in positions]
    key = ",".join(map(str, current))
    assert key in frames, f"the live controls start at {key}, which the stored explorer has no frame for"
    for index, (position, count) in enumerate(positions):
        if count < 2:
            continue
        moved = current.copy()
        moved[index] = position + 1 if position + 1 < count else position - 1
        if frames[",".join(map(str, moved))] != frames[key]:
            return index, moved[index]
    pytest.fail(f"no single step of a control changes the stored picture at {key}")


def move(control: Locator, target: int) -> None:
    """Move a live control as a reader would: pick an option, or press an arrow key on a slider."""
    if control.evaluate("control => control.tagName") == "SELECT":
        control.select_option(index=target)
    else:
        position, _ = control.evaluate(POSITION)
        control.focus()
        control.press("ArrowRight" if target > position else "ArrowLeft")


def check_explorer(explorer: Locator, frames: dict[str, int], name: str) -> None:
    """Controls visible, and moving one makes the kernel draw a different picture."""
    explorer.evaluate("element => element.scrollIntoView({block: 'center'})")
    image = explorer.locator(":scope > img.widget-image")
    controls = [explorer.locator(CONTROLS).nth(i) for i in range(explorer.locator(CONTROLS).count())]
    assert controls, f"{name} shows no controls"
    for control in [image, *controls]:
        assert control.is_visible(), f"{name}: {control} is not visible"
    index, target = a_move_that_redraws(frames, [tuple(c.evaluate(POSITION)) for c in controls])
    src, picture = image.get_attribute("src"), image.evaluate(IMAGE_BYTES)
    move(controls[index], target)
    assert controls[index].evaluate(POSITION)[0] == target, f"{name}: control {index} did not move"
    expect(image, f"{name}: moving control {index} did not redraw the picture").not_to_have_attribute(
        "src", src, timeout=REDRAW_TIMEOUT_S * 1000
    )
    assert image.evaluate(IMAGE_BYTES) != picture, f"{name}: moving control {index} did not change the picture"


@pytest.mark.parametrize("path", notebooks_with_explorers(), ids=lambda p: p.name)
def test_explorers_work_live_in_jupyterlab(path, lab, page):
    stored, saved = stored_explorers(path), path.read_bytes()
    open_notebook(page, lab, path)
    run_all_cells(page, RUN_ALL_TIMEOUT_S)
    problems = problems_shown(page)
    assert not problems, "\n".join(problems)
    explorers = page.locator(LIVE_EXPLORER)
    assert explorers.count() == len(stored), (
        f"{explorers.count()} explorers run live but {len(stored)} are stored; "
        "re-execute the notebook (python -m helpers.execute) so its stored outputs are current"
    )
    for index, frames in enumerate(table["frames"] for table in stored):
        check_explorer(explorers.nth(index), frames, f"explorer {index} of {path.name}")
    explorers.first.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(ARTIFACTS / f"{path.stem}.png"))
    assert page.script_errors == []
    assert path.read_bytes() == saved, "JupyterLab changed the notebook on disk; it must never save it"


@pytest.fixture
def scratch_notebook():
    """Writes a notebook of code cells into the server's tree (the git-ignored artifacts folder); removed after."""
    written = []

    def write(name: str, *sources: str) -> Path:
        path = ARTIFACTS / f"{name}.ipynb"
        nbformat.write(
            new_notebook(
                cells=[new_code_cell(source) for source in sources],
                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            ),
            path,
        )
        written.append(path)
        return path

    yield write
    for path in written:
        path.unlink(missing_ok=True)


def test_errors_and_broken_widgets_are_caught(lab, page, scratch_notebook):
    missing_widget = {
        "application/vnd.jupyter.widget-view+json": {
            "model_id": "no-such-model",
            "version_major": 2,
            "version_minor": 0,
        }
    }
    open_notebook(
        page,
        lab,
        scratch_notebook("broken", f"display({missing_widget!r}, raw=True)", "1 / 0", "print('after the error')"),
    )
    # Before running, every cell is reported as not run. (After an error, whether Run All still
    # reaches the next cell is a race inside the kernel, so that case is not asserted.)
    assert "cell 2 did not run" in problems_shown(page)
    run_all_cells(page, RUN_ALL_TIMEOUT_S)
    problems = "\n".join(problems_shown(page))
    for expected in ["cell 1: ZeroDivisionError", "traceback shown", "Error displaying widget"]:
        assert expected in problems


def test_a_hung_kernel_fails_within_the_time_limit(lab, page, scratch_notebook):
    open_notebook(page, lab, scratch_notebook("hung-kernel", "import time\ntime.sleep(600)"))
    start = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"still running after 5 s.*time\.sleep\(600\)"):
        run_all_cells(page, timeout_s=5)
    assert time.monotonic() - start < 30
    lab.shut_down_kernels()
    assert lab.kernel_pids() == []


def test_a_move_that_redraws_skips_controls_the_picture_ignores():
    # the picture depends on control 1 only
    frames = {"0,0": 0, "1,0": 0, "0,1": 1, "1,1": 1, "0,2": 2, "1,2": 2}
    assert a_move_that_redraws(frames, [(0, 2), (1, 3)]) == (1, 2)
    assert a_move_that_redraws(frames, [(1, 2), (2, 3)]) == (1, 1)  # at its end, a slider steps back
    with pytest.raises(pytest.fail.Exception, match="no single step"):
        a_move_that_redraws({"0": 0, "1": 0}, [(0, 2)])
    with pytest.raises(AssertionError, match="no frame for"):
        a_move_that_redraws(frames, [(0, 2), (5, 6)])


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="kernels are found through /proc (Linux)")
def test_the_server_and_its_kernels_stop_when_a_test_fails():
    with pytest.raises(RuntimeError, match="a failing test"):
        with running_jupyterlab(REPO_ROOT, ARTIFACTS / "stop-test.log") as server:
            server.api("kernels", method="POST")
            deadline = time.monotonic() + 60
            while not server.kernel_pids() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert server.kernel_pids(), "the kernel never started"
            raise RuntimeError("a failing test")
    assert server.process.poll() is not None
    assert server.kernel_pids() == []
