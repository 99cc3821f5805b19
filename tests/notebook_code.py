"""Reading code out of the notebooks: definitions in code cells, and reference solutions in `<details>` blocks.

A solution is the ```python code in an exercise's `<details>` block. The outcomes its text states
are checked by `claim(...)` calls in an HTML comment inside the same block, which neither JupyterLab
nor the website shows:

    <!-- checks
    claim(history.val_accuracy[-1] > 0.9, "the network learns")
    -->

The test suite runs every solution, then its checks, after the notebook's last cell (conftest.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import nbformat

from helpers.core.paths import REPO_ROOT

SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```.*?</details>", re.S)
DETAILS = re.compile(r"<details>(.*?)</details>", re.S)
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
CHECKS = re.compile(r"<!-- checks\n(.*?)-->", re.S)


def notebook(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO_ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)


def solutions(path) -> list[tuple[str, str, str]]:
    """`(text, code, checks)` of every `<details>` block of the notebook at `path` that holds Python code, in order.

    `text` is the block's prose (code and comments left out), `code` its ```python blocks, `checks` the code of
    its `<!-- checks ... -->` comment ("" if it has none).
    """
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for block in DETAILS.findall(cell.source):
                code = "\n".join(PYTHON_BLOCK.findall(block))
                if code:
                    text = CHECKS.sub("", PYTHON_BLOCK.sub("", block))
                    found.append((text, code, "\n".join(CHECKS.findall(block))))
    return found


def solution_cells(path) -> list[nbformat.NotebookNode]:
    """Each solution of the notebook at `path` as a code cell: its code, then its checks."""
    return [nbformat.v4.new_code_cell(f"{code}\n{checks}") for _, code, checks in solutions(path)]


def code_cells(stem: str) -> list[str]:
    """The notebook's code cells, IPython magics (`%...`) blanked so that `ast` can read them."""
    cells = [cell.source for cell in notebook(stem).cells if cell.cell_type == "code"]
    return [re.sub(r"^[%!].*$", "", source, flags=re.M) for source in cells]


def top_level_definitions(source: str) -> dict[str, ast.AST]:
    """The functions and classes that `source` defines at its top level, by name."""
    tree = ast.parse(source)
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def shape(node: ast.AST) -> str:
    """A definition's code with its decorators left out, so that a guarded helper matches its bare cell."""
    node = ast.parse(ast.unparse(node)).body[0]
    node.decorator_list = []
    return ast.dump(node)


def helper_definition(module: str, name: str) -> ast.AST:
    """The top-level definition of `name` in the helper `module`, read from its source file."""
    source = inspect.getsource(importlib.import_module(module))
    definitions = top_level_definitions(source)
    if name not in definitions:
        raise LookupError(f"{module} defines no {name}")
    return definitions[name]


def solution_namespace(stem: str, name: str, namespace: dict | None = None) -> dict:
    """Run the reference solution (the ```python block in a `<details>` of a markdown cell) that defines `name`.

    It runs in a namespace of its own (plus `namespace`, e.g. the imports it needs), so
    a solution never touches the notebook's globals.
    """
    markdown = "\n".join(cell.source for cell in notebook(stem).cells if cell.cell_type == "markdown")
    sources = [code for code in SOLUTION.findall(markdown) if name in top_level_definitions(code)]
    if len(sources) != 1:
        raise LookupError(f"{stem} has {len(sources)} solutions that define {name}, expected 1")
    scope = {"torch": importlib.import_module("torch"), **(namespace or {})}
    exec(compile(sources[0], f"<{stem} solution of {name}>", "exec"), scope)
    return scope
