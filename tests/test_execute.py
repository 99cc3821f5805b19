"""Tests for helpers.execute: notebooks re-executed in place, headless in the kernel only."""

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_raw_cell

from helpers.core.explorer import HEADLESS_ENV_VAR
from helpers.execute import main, notebook_paths

EXPLORER = """
from matplotlib.figure import Figure
from helpers.core.explorer import explore

def draw(height):
    figure = Figure(figsize=(2, 2))
    figure.subplots().bar([0], [height])
    return figure

explore(draw, {"height": [1.0, 2.0]})
"""


def test_notebook_paths_are_numbered_in_course_order():
    names = [path.name for path in notebook_paths()]
    assert names == sorted(names) and all(name[:2].isdigit() for name in names)


@pytest.mark.slow  # starts a Jupyter kernel
def test_execute_in_place_stores_static_explorers_and_widget_state(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(HEADLESS_ENV_VAR)  # the test suite runs headless; executing must not depend on it
    path = tmp_path / "demo.ipynb"
    cells = [
        new_raw_cell("---\ntitle: demo\n---"),
        new_code_cell("import os\nos.environ['DLF_HEADLESS']"),
        new_code_cell(EXPLORER),
        new_code_cell("import ipywidgets\nipywidgets.IntSlider(value=3)"),
        # The kernel is stopped at once after the last cell, not left to wind down: no exit hook runs
        new_code_cell(f"import atexit, pathlib\natexit.register(pathlib.Path({str(tmp_path / 'wound-down')!r}).touch)"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    assert main([str(path)]) == 0
    assert "done in" in capsys.readouterr().out
    assert HEADLESS_ENV_VAR not in os.environ  # headless was the kernel's environment, not this process's

    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2, 3, 4]
    assert not (tmp_path / "wound-down").exists()
    assert code[0].outputs[0]["data"]["text/plain"] == "'1'"
    explorer = code[1].outputs[0]["data"]
    assert 'class="dlf-explorer"' in explorer["text/html"]
    assert "application/vnd.jupyter.widget-view+json" not in explorer
    model_id = code[2].outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert model_id in notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert all("execution" not in cell.metadata for cell in code)


def test_missing_notebook_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope.ipynb")])
    assert "no notebook at" in capsys.readouterr().err


def write_notebook(path, *sources):
    nbformat.write(
        new_notebook(
            cells=[new_code_cell(source) for source in sources],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        ),
        path,
    )
    return path


@pytest.mark.slow  # starts Jupyter kernels
def test_a_failing_notebook_is_one_line_the_others_still_run_and_the_exit_is_non_zero(tmp_path, capsys):
    failing = write_notebook(tmp_path / "01-failing.ipynb", "x = 1", "def f():\n    return 1 / 0\nf()", "print(2)")
    stored = failing.read_bytes()
    passing = write_notebook(tmp_path / "02-passing.ipynb", "print('fine')")
    assert main([str(failing), str(passing)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"executing {failing} ...",
        "  FAILED: cell 1 raised ZeroDivisionError: division by zero (the notebook on disk is unchanged)",
        f"executing {passing} ...",
        out.splitlines()[3],
    ]
    assert out.splitlines()[3].startswith("  done in ")
    assert err == f"1 of 2 notebooks failed: {failing}\n"
    assert failing.read_bytes() == stored
    assert nbformat.read(passing, as_version=4).cells[0].outputs[0].text == "fine\n"


def test_a_file_that_is_not_a_notebook_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("some notes")
    with pytest.raises(SystemExit) as exit_:
        main([str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "is not a notebook: its name must end in .ipynb" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty, not a notebook"),
        ("{not json", "is not a valid notebook (NotJSONError)"),
    ],
)
def test_an_empty_or_broken_notebook_is_a_usage_error(tmp_path, capsys, content, message):
    path = tmp_path / "01-broken.ipynb"
    path.write_text(content)
    with pytest.raises(SystemExit):
        main([str(path)])
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("timeout", ["0", "-5", "ten"])
def test_timeout_must_be_a_positive_number_of_seconds(tmp_path, capsys, timeout):
    path = write_notebook(tmp_path / "01-ok.ipynb", "1")
    with pytest.raises(SystemExit):
        main([str(path), "--timeout", timeout])
    assert "--timeout: must be a" in capsys.readouterr().err


def test_jupyterlab_duplicates_and_other_names_are_not_course_notebooks(tmp_path, monkeypatch):
    import helpers.execute

    for name in [
        "01-first.ipynb",
        "01-first-Copy1.ipynb",
        "02-second-copy2.ipynb",
        "Untitled.ipynb",
        "3-short.ipynb",
        "02-second.ipynb",
        "notes.txt",
    ]:
        (tmp_path / name).write_text("{}")
    monkeypatch.setattr(helpers.execute, "NOTEBOOK_DIR", tmp_path)
    assert [path.name for path in notebook_paths()] == ["01-first.ipynb", "02-second.ipynb"]


@pytest.mark.slow  # starts Jupyter kernels
def test_an_interrupted_save_leaves_the_stored_notebook(tmp_path, monkeypatch):
    import helpers.execute

    path = write_notebook(tmp_path / "01-ok.ipynb", "print('new')")
    stored = path.read_bytes()
    real = helpers.execute.replace_atomically

    def interrupted(target, write):
        def write_half(stream):
            stream.write(b'{"cells": [')
            raise KeyboardInterrupt  # Ctrl-C or a kill while the file is written

        return real(target, write_half)

    monkeypatch.setattr(helpers.execute, "replace_atomically", interrupted)
    with pytest.raises(KeyboardInterrupt):
        helpers.execute.execute_notebook(path)
    assert path.read_bytes() == stored
