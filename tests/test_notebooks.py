"""Every notebook, as committed: front matter, stored outputs, figure labels, exercises.

nbval executes the notebooks themselves (pytest collects `notebooks/*.ipynb`);
these tests check what the website will render from the stored outputs.
"""

import re
from collections import Counter

import nbformat
import pytest
import yaml

from helpers.execute import notebook_paths

NOTEBOOKS = notebook_paths()
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def read(path):
    return nbformat.read(path, as_version=4)


def cell_options(cell) -> dict:
    lines = [line[3:].strip() for line in cell.source.splitlines() if line.startswith("#| ")]
    return yaml.safe_load("\n".join(lines)) or {}


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_front_matter_has_a_title(path):
    first = read(path).cells[0]
    assert first.cell_type == "raw", "the first cell must be a raw cell of Quarto front matter"
    match = re.fullmatch(r"---\n(.*?)\n---\s*", first.source, re.S)
    assert match, "front matter must be YAML between --- lines"
    assert yaml.safe_load(match.group(1)).get("title")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_in_order_without_errors(path):
    code = [cell for cell in read(path).cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), (
        "re-execute with `python -m helpers.execute`: cells must run once each, top to bottom"
    )
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", f"error output in cell:\n{cell.source}"
            assert not (output.output_type == "stream" and output.name == "stderr" and "Traceback" in output.text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_are_labelled_and_captioned(path):
    for cell in read(path).cells:
        if cell.cell_type != "code":
            continue
        options = cell_options(cell)
        draws = any(
            "image/png" in out.get("data", {}) or "dlf-explorer" in out.get("data", {}).get("text/html", "")
            for out in cell.outputs
        )
        if draws:
            assert str(options.get("label", "")).startswith("fig-"), f"figure cell without a fig- label:\n{cell.source}"
        if str(options.get("label", "")).startswith("fig-"):
            assert options.get("fig-cap"), f"{options['label']} has no fig-cap"
            assert re.fullmatch(r"fig-[a-z0-9-]+", options["label"]), options["label"]


def test_figure_labels_are_unique_across_the_collection():
    labels = Counter(
        cell_options(cell).get("label") for path in NOTEBOOKS for cell in read(path).cells if cell.cell_type == "code"
    )
    labels.pop(None, None)
    assert [label for label, count in labels.items() if count > 1] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_with_collapsed_solutions(path):
    text = "\n".join(cell.source for cell in read(path).cells if cell.cell_type == "markdown")
    assert re.search(r"^## Exercises", text, re.M), "missing an '## Exercises' section"
    assert len(re.findall(r"<details>\s*<summary>Solution</summary>", text)) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_explorers_are_stored_static_and_widgets_have_state(path):
    notebook = read(path)
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "dlf-explorer" in data.get("text/html", ""):
                assert WIDGET_VIEW not in data, "explorers must be stored as static HTML (DLF_HEADLESS=1)"
            if WIDGET_VIEW in data:
                assert data[WIDGET_VIEW]["model_id"] in state, "widget output without saved widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_drawn_figures_have_alt_text(path):
    for cell in read(path).cells:
        if cell.cell_type == "code" and any("image/png" in out.get("data", {}) for out in cell.outputs):
            assert len(str(cell_options(cell).get("fig-alt", ""))) > 30, (
                f"give the figure a fig-alt that says what it shows:\n{cell.source[:200]}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_reads_the_same_in_jupyterlab_and_on_the_website(path):
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            assert not re.search(r"^#+ .*\{#.*\}\s*$", cell.source, re.M), (
                "a Quarto anchor on a heading shows literally in JupyterLab; leave it out"
            )
            assert not re.search(r"^:::", cell.source, re.M), (
                'JupyterLab shows ::: literally; write a callout as <div class="callout-note alert alert-info">'
            )
            assert not re.search(r"^\s*\d{3,}[.)] ", cell.source, re.M), (
                "a line that starts with a number and '.' or ')' becomes a numbered list; rewrap it"
            )
