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
    ]
    nbformat.write(new_notebook(cells=cells), path)
    assert main([str(path)]) == 0
    assert "done in" in capsys.readouterr().out
    assert HEADLESS_ENV_VAR not in os.environ  # headless was the kernel's environment, not this process's

    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2, 3]
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
