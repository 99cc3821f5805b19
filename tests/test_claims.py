"""Tests for helpers.core.claims and the claims in the notebooks: each hidden, each quoting the prose it backs."""

import ast
import re

import nbformat
import pytest
import torch
from notebook_code import CHECKS, solutions

from helpers.core.claims import ClaimFailed, claim
from helpers.execute import notebook_paths


def test_a_claim_that_holds_is_silent_and_one_that_fails_quotes_its_sentence():
    assert claim(1 < 2, "one is less than two") is None
    claim(torch.tensor(True), "a one-element tensor is a condition")
    with pytest.raises(ClaimFailed, match="The notebook says 'the sigmoid network learns', and on this run"):
        claim(0.1 > 0.5, "the sigmoid network learns")
    assert issubclass(ClaimFailed, AssertionError)


def test_a_claim_needs_one_condition_and_its_sentence():
    with pytest.raises(TypeError, match="one true-or-false condition, got Tensor"):
        claim(torch.tensor([True, False]), "every value is true")
    with pytest.raises(TypeError, match="the sentence it backs"):
        claim(True, "")
    with pytest.raises(TypeError, match="the sentence it backs"):
        claim(True, None)


def normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def claim_cells(path):
    """(cell index, cell) of every code cell of the notebook that calls `claim`."""
    cells = nbformat.read(path, as_version=4).cells
    return [
        (i, cell) for i, cell in enumerate(cells) if cell.cell_type == "code" and re.search(r"\bclaim\(", cell.source)
    ]


def prose(path) -> str:
    """The notebook's markdown (without the solutions' hidden checks) and its figure captions, whitespace normalized."""
    cells = nbformat.read(path, as_version=4).cells
    texts = [CHECKS.sub("", cell.source) for cell in cells if cell.cell_type == "markdown"]
    texts += re.findall(r'^#\| fig-cap: "(.*)"$', "\n".join(c.source for c in cells if c.cell_type == "code"), re.M)
    return normalized("\n".join(texts))


NOTEBOOKS = notebook_paths()


def claims_in(source: str, where: str) -> list[str]:
    """The sentences of the `claim(condition, sentence)` calls in `source`, each a plain string."""
    sentences = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "claim":
            assert len(node.args) == 2 and isinstance(node.args[1], ast.Constant), (
                f"{where}: claim(condition, sentence) with the sentence as a plain string"
            )
            sentences.append(normalized(node.args[1].value))
    return sentences


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_every_claim_sits_in_a_hidden_cell_and_quotes_the_notebooks_prose(path):
    text = prose(path)
    for index, cell in claim_cells(path):
        where = f"{path.name}, cell {index}"
        assert cell.source.startswith("#| include: false\n"), f"{where}: a claim cell starts with '#| include: false'"
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, f"{where}: collapse it in JupyterLab"
        assert not cell.get("outputs"), f"{where}: a claim that holds prints nothing"
        for sentence in claims_in(cell.source, where):
            assert sentence in text, f"{where}: {sentence!r} is not in the notebook's prose; quote it word for word"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_every_solution_checks_what_it_states_or_says_what_to_look_for(path):
    for number, (text, _code, checks) in enumerate(solutions(path), start=1):
        where = f"{path.name}, solution {number}"
        sentences = claims_in(checks, where)
        assert sentences or "what to look for" in text.lower(), (
            f"{where}: back each outcome its text states with a claim in <!-- checks ... -->, "
            "or say what to look for instead"
        )
        for sentence in sentences:
            assert sentence in normalized(text), f"{where}: {sentence!r} is not in the solution's text; quote it"
