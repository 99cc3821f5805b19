"""Every notebook runs in JupyterLab as a student meets it, live, in a real browser, and shows what a headless run shows.

Every notebook is opened in the session's throw-away JupyterLab (`live_lab`, `lab_server`)
in Debian's headless Chromium, and all its cells run, with a bounded wait for the kernel,
live: progress bars, live curves and widgets, and no saved models (a fresh artifacts
folder), so training really runs. No cell may show an error and no widget may fail to
display; before the run, stored explorers must show a note to run the cell instead of
controls that cannot work. The key printed results (printed text and Markdown tables, with durations
masked and progress lines left out) must equal those of a headless run of the same
notebook on this machine: nbval's run in the same session (see the repository's conftest.py),
so each notebook is executed headless only once. Against the stored
outputs only what holds on every processor is compared: the lecture's first epochs.
Every explorer must show its controls, and moving one of them must make the kernel
redraw a different picture. The stored frames say which move changes the picture,
so a control that some choices ignore is never the one tried. A screenshot per
notebook goes to test-artifacts/jupyterlab/.
"""

from __future__ import annotations

import re
import time
from contextlib import suppress
from pathlib import Path

import nbformat
import pytest
from browser_support import stored_explorers
from lab_server import running_jupyterlab
from live_lab import ARTIFACTS
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Locator, Page, expect

from helpers.core.paths import REPO_ROOT
from helpers.execute import notebook_paths

pytestmark = pytest.mark.slow  # drives JupyterLab in a browser

RUN_ALL_TIMEOUT_S = 480  # per notebook: a hung kernel fails the test instead of hanging CI
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
CODE_CELL_OUTPUTS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells, outputs = [];
  for (let i = 0; i < cells.length; i++)
    if (cells.get(i).type === 'code') outputs.push(cells.get(i).outputs.toJSON());
  return outputs;
}"""
# Printed lines that differ between a live and a headless run by design: per-epoch progress (text when
# headless, progress bars live).
NOT_COMPARED = re.compile(r"epoch +\d+/\d+  train loss ")
DURATIONS = [
    # "prepared once in 0.1 s"; a column of times pads "9.84 s" to the width of "10.21 s", so padding goes too
    (re.compile(r" *\b\d+(\.\d+)? s\b"), " <seconds> s"),
    (re.compile(r"\b\d+(\.\d+)? ms per step instead of \d+(\.\d+)?"), "<ms> ms per step instead of <ms>"),
    (re.compile(r"\b\d+(\.\d+)? ms\b"), "<ms> ms"),  # "20.8 ms per step"
    (re.compile(r"s per epoch +\d+(\.\d+)?x$"), "s per epoch <speed-up>x"),  # "1.43 s per epoch    8.8x"
]
LECTURE_TABLE = "| epoch | loss (lecture) | loss (this run) |"
STABLE_EPOCHS = 5  # of the lecture's run, the same on every processor (later epochs move in the last digit)


@pytest.fixture
def page(lab):
    """The JupyterLab tab; afterwards every document it opened is closed unsaved (no dialog stays
    behind) and every kernel is shut down."""
    try:
        yield lab.tab
    finally:
        lab.close_documents()
        lab.shut_down_kernels()


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


def key_results(cells: list[list[dict]]) -> dict[int, list[str]]:
    """Per code cell (numbered from 0), the printed lines and Markdown lines that a live run must repeat."""
    results = {}
    for number, outputs in enumerate(cells):
        lines = []
        for output in outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = output["text"]
            elif "text/markdown" in output.get("data", {}):
                text = output["data"]["text/markdown"]
            else:
                continue
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                if line.strip() and not NOT_COMPARED.match(line):
                    for pattern, mask in DURATIONS:
                        line = pattern.sub(mask, line)
                    lines.append(line)
        if lines:
            results[number] = lines
    return results


def lecture_epochs(cells: list[list[dict]]) -> list[str]:
    """The first `STABLE_EPOCHS` rows of every lecture comparison table in these outputs."""
    rows = []
    for lines in key_results(cells).values():
        for start in (i for i, line in enumerate(lines) if line.startswith(LECTURE_TABLE)):
            rows += lines[start + 2 : start + 2 + STABLE_EPOCHS]
    return rows


def test_key_results_leave_out_progress_and_durations_only():
    cells = [
        [
            {
                "output_type": "stream",
                "name": "stdout",
                "text": "epoch  1/20  train loss 0.3272 accuracy 0.9175  (0.9 s)\n",
            }
        ],
        [
            {"output_type": "stream", "name": "stdout", "text": ["prepared once in 0.1 s\n", "accuracy 0.9761\n"]},
            {"output_type": "stream", "name": "stdout", "text": "2.4 ms per step instead of 20.8\n"},
            {"output_type": "stream", "name": "stdout", "text": "tensors, the same code    1.43 s per epoch    8.8x\n"},
            {"output_type": "stream", "name": "stdout", "text": "tensors, the same code   11.43 s per epoch   18.8x\n"},
            {"output_type": "display_data", "data": {"text/markdown": "| 1 | 0.3272 | 0.3272 |"}},
            {"output_type": "stream", "name": "stderr", "text": "a warning\n"},
        ],
    ]
    assert key_results(cells) == {
        1: [
            "prepared once in <seconds> s",
            "accuracy 0.9761",
            "<ms> ms per step instead of <ms>",
            "tensors, the same code <seconds> s per epoch <speed-up>x",
            "tensors, the same code <seconds> s per epoch <speed-up>x",
            "| 1 | 0.3272 | 0.3272 |",
        ]
    }
    table = [LECTURE_TABLE + " accuracy |", "|---:|"] + [f"| {i} | 0.1 | 0.1 | 0.9 | 0.9 |" for i in range(1, 8)]
    assert (
        lecture_epochs([[{"output_type": "display_data", "data": {"text/markdown": "\n".join(table)}}]]) == table[2:7]
    )


def check_same_results(live: list[list[dict]], headless: list[list[dict]], stored: list[list[dict]]) -> None:
    """The live run printed what the headless run printed, and the lecture's first epochs as stored."""
    live_results, headless_results = key_results(live), key_results(headless)
    for number in sorted(set(live_results) | set(headless_results)):
        assert live_results.get(number) == headless_results.get(number), (
            f"code cell {number} shows different results live (in JupyterLab) than headless:\n"
            f"live:     {live_results.get(number)}\nheadless: {headless_results.get(number)}"
        )
    assert lecture_epochs(live) == lecture_epochs(stored), "the lecture's first epochs differ from the stored ones"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_every_notebook_runs_live_in_jupyterlab_as_it_runs_headless(path, lab, page, headless_outputs):
    stored, saved = stored_explorers(path), path.read_bytes()
    lab.start(path, len(stored))
    headless = headless_outputs(path)  # nbval's, in this process; or executed now, while the live run goes on
    before = lab.wait(path, RUN_ALL_TIMEOUT_S)
    # Before the run (untrusted: JupyterLab strips scripts), each stored explorer showed its default
    # picture with a note to run the cell, and no control that could not work.
    assert (before.untrusted_notes, before.stored_controls) == (len(stored), 0)
    problems = problems_shown(page)
    assert not problems, "\n".join(problems)
    stored_outputs = [cell.outputs for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    check_same_results(page.evaluate(CODE_CELL_OUTPUTS), headless, stored_outputs)
    explorers = page.locator(LIVE_EXPLORER)
    assert explorers.count() == len(stored), (
        f"{explorers.count()} explorers run live but {len(stored)} are stored; "
        "re-execute the notebook (python -m helpers.execute) so its stored outputs are current"
    )
    for index, frames in enumerate(table["frames"] for table in stored):
        check_explorer(explorers.nth(index), frames, f"explorer {index} of {path.name}")
    if stored:
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
    path = scratch_notebook("broken", f"display({missing_widget!r}, raw=True)", "1 / 0", "print('after the error')")
    lab.open(path)
    # Before running, every cell is reported as not run. (After an error, whether Run All still
    # reaches the next cell is a race inside the kernel, so that case is not asserted.)
    assert "cell 2 did not run" in problems_shown(page)
    lab.start(path, stored_explorers=0)
    lab.wait(path, RUN_ALL_TIMEOUT_S)
    problems = "\n".join(problems_shown(page))
    for expected in ["cell 1: ZeroDivisionError", "traceback shown", "Error displaying widget"]:
        assert expected in problems


def test_a_hung_kernel_fails_within_the_time_limit(lab, page, scratch_notebook):
    path = scratch_notebook("hung-kernel", "import time\ntime.sleep(600)")
    lab.start(path, stored_explorers=0)
    start = time.monotonic()
    time.sleep(3)  # the limit passes before anyone waits: the wait must still end, at once
    with pytest.raises(pytest.fail.Exception, match=r"still running after 2 s.*time\.sleep\(600\)"):
        lab.wait(path, timeout_s=2)
    assert time.monotonic() - start < 30
    lab.close_documents()  # first, so that JupyterLab does not report the kernel's death
    lab.shut_down_kernels(wait=True)
    assert lab.server.kernel_pids() == []


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
