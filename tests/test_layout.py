"""The package layout is its plan: core, kernels and lessons, who may import whom, and one figure convention."""

import ast
import re

import nbformat
import pytest

from helpers.core.paths import REPO_ROOT
from helpers.execute import notebook_paths

HELPERS = REPO_ROOT / "helpers"
# Who may import whom inside `helpers`: the kernels stand alone (apart from the shared checks),
# the core builds on the kernels, a lesson on both; nothing imports a lesson but its notebook.
ALLOWED = {
    "kernels": ("helpers.kernels.", "helpers.core.checks"),
    "core": ("helpers.core.", "helpers.kernels."),
    "lessons": ("helpers.core.", "helpers.kernels."),
}


def modules(package: str) -> list:
    return sorted(p for p in (HELPERS / package).glob("*.py") if p.name != "__init__.py")


def helpers_imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] == "helpers"}


def notebook_slug(path) -> str:
    return re.sub(r"^\d+-", "", path.stem).replace("-", "_")


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_it_may(package):
    for path in modules(package):
        for name in helpers_imports(path):
            assert name.startswith(ALLOWED[package]), f"helpers/{package}/{path.name} imports {name}"


def test_a_lesson_never_imports_another_lesson():
    for path in modules("lessons"):
        assert not any(name.startswith("helpers.lessons") for name in helpers_imports(path)), path.name


def test_every_lesson_is_named_after_its_notebook_and_every_notebook_has_one():
    lessons = {path.stem for path in modules("lessons")}
    assert lessons == {notebook_slug(path) for path in notebook_paths()}


def test_a_notebook_imports_no_other_notebooks_lesson():
    for path in notebook_paths():
        own = f"helpers.lessons.{notebook_slug(path)}"
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                for name in re.findall(r"helpers\.lessons\.\w+", cell.source):
                    assert name == own, f"{path.name} imports {name}"


def test_the_package_lays_out_only_core_kernels_lessons_and_the_execute_tool():
    top = {p.name for p in HELPERS.iterdir() if not p.name.startswith(("_", "."))}
    assert top == {"core", "kernels", "lessons", "execute.py"}


def test_every_helper_module_has_its_test_file():
    tests = {p.name for p in (REPO_ROOT / "tests").glob("test_*.py")}
    for package in ALLOWED:
        for path in modules(package):
            assert f"test_{path.stem}.py" in tests, f"helpers/{package}/{path.name} has no tests/test_{path.stem}.py"
    assert "test_execute.py" in tests


def test_the_package_docstring_names_every_module():
    import helpers

    for package in ("core", "kernels"):
        for path in modules(package):
            assert f"`{path.stem}`" in helpers.__doc__, f"helpers/__init__.py does not mention {package}.{path.stem}"


def test_helpers_draw_on_figures_they_return_never_on_pyplot_state():
    for path in HELPERS.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if isinstance(owner, ast.Name) and owner.id == "plt":
                    assert node.func.attr == "close", f"{path.name} calls plt.{node.func.attr}"
            if isinstance(node, ast.FunctionDef):
                assert not node.name.startswith("draw_"), f"{path.name}: {node.name} should be plot_{node.name[5:]}"
                if node.name.startswith("plot_"):
                    returns = ast.unparse(node.returns) if node.returns else ""
                    assert returns == "Figure", f"{path.name}: {node.name} must return its Figure"


# Without the inline backend a returned Figure shows only as text; the website hides this set-up line.
SETUP_CELL = "#| include: false\n%matplotlib inline"
# The second code cell is the hosted set-up cell (website/hosted_setup.py writes it; its own test checks
# its text): it must run before any cell imports `helpers`, which it provides in a hosted kernel.
HOSTED_SETUP_MARKER = "#| include: false\n# Hosted set-up"


def test_notebook_cells_show_figures_by_ending_with_them():
    for path in notebook_paths():
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert cells[0].source == SETUP_CELL, f"{path.name}: the first code cell must be {SETUP_CELL!r}"
        assert cells[1].source.startswith(HOSTED_SETUP_MARKER), (
            f"{path.name}: the second code cell must be the hosted set-up cell; run python -m website.hosted_setup --write"
        )
        for cell in cells:
            assert "plt." not in cell.source, f"{path.name}: draw on a Figure, not with pyplot"
            last = cell.source.rstrip().splitlines()[-1]
            assert not (re.match(r"\s*plot_\w+\(", last) and last.endswith(";")), f"{path.name}: {last}"


def module_exists(dotted: str) -> bool:
    """Whether `helpers.x` or `helpers.x.y...` names a module of the package (or a name inside a module)."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        base = REPO_ROOT.joinpath(*parts[:end])
        if base.with_suffix(".py").is_file():
            return True
        if (base / "__init__.py").is_file():
            return end == len(parts)  # a package; a name after it must be one of its modules
    return False


def test_every_helpers_module_named_in_the_prose_exists():
    """Moved or renamed modules leave no stale `helpers/...py` path or `helpers.x` name in the text."""
    texts = {name: (REPO_ROOT / name).read_text() for name in ("README.md", "CONTRIBUTING.md", "index.qmd")}
    for path in notebook_paths():
        cells = nbformat.read(path, as_version=4).cells
        texts[path.name] = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    for name, text in texts.items():
        for file in re.findall(r"helpers/[\w/]+\.py", text):
            assert (REPO_ROOT / file).is_file(), f"{name} names {file}, which does not exist"
        for dotted in re.findall(r"helpers(?:\.\w+)+", text):
            assert module_exists(dotted), f"{name} names {dotted}, which is no module of the package"
