"""The project's promises about itself: set-up, CI, packages and the website configuration."""

import re
import tomllib

import yaml

from helpers.core.paths import REPO_ROOT
from helpers.execute import notebook_paths

# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PYTHON_PACKAGES = {"python", "pip", "quarto"}


def normalise(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.strip()).groups()
    name = name.lower().replace("_", "-")
    return CONDA_TO_PYPI.get(name, name), spec.replace("==", "=").replace(" ", "")


def pyproject_packages() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(normalise(r) for r in requirements)


def conda_packages() -> dict[str, str]:
    environment = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    requirements = [d for d in environment["dependencies"] if isinstance(d, str)] + pip_section[:-1]
    packages = dict(normalise(d) for d in requirements)
    return {name: spec for name, spec in packages.items() if name not in NOT_PYTHON_PACKAGES}


def test_environment_yml_and_pyproject_name_the_same_packages():
    assert conda_packages() == pyproject_packages()


def test_environment_yml_installs_the_project_and_quarto():
    environment = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pip_section[-1] == "--editable ."
    assert "quarto" in environment["dependencies"] and "conda-forge" in environment["channels"]


VERIFIED = re.compile(r"^\| (\d+)\.(\d+)\.(\d+) \| (\d+)\.(\d+)\.(\d+) \| \d{4}-\d{2}-\d{2} \| passed", re.M)


def test_the_pytorch_range_spans_the_releases_the_readme_records_as_verified():
    """pyproject.toml admits from the oldest torch/torchvision pair that tools/check-torch.sh passed to the
    newest one's minor release, as the README's table records them."""
    section = (REPO_ROOT / "README.md").read_text().split("## PyTorch releases\n", 1)[1].split("\n## ", 1)[0]
    rows = sorted(tuple(map(int, row)) for row in VERIFIED.findall(section))
    assert len(rows) >= 2, "the README records fewer than two verified releases"
    (oldest, newest), packages = (rows[0], rows[-1]), pyproject_packages()
    assert packages["torch"] == f">={oldest[0]}.{oldest[1]}.{oldest[2]},<{newest[0]}.{newest[1] + 1}"
    assert packages["torchvision"] == f">={oldest[3]}.{oldest[4]}.{oldest[5]},<{newest[3]}.{newest[4] + 1}"


def readme_command(section: str) -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    body = readme.split(f"## {section}\n", 1)[1]
    return re.search(r"```bash\n(.*?)\n", body).group(1).strip()


def test_ci_runs_exactly_the_readme_set_up_and_test_commands():
    setup, test = readme_command("Set up"), readme_command("Test")
    assert setup == 'python3 -m venv --upgrade-deps .venv && .venv/bin/pip install -e ".[test]"'
    assert test == ".venv/bin/python -m pytest"
    ci_commands = [
        line.strip()
        for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip().startswith((".venv/", "python3 -m venv"))
    ]
    assert ci_commands == [setup, test]


def quarto_config() -> dict:
    return yaml.safe_load((REPO_ROOT / "_quarto.yml").read_text())


def sidebar_files(contents) -> list[str]:
    files = []
    for entry in contents:
        if isinstance(entry, str):
            files.append(entry)
        elif "contents" in entry:
            files.extend(sidebar_files(entry["contents"]))
        else:
            files.append(entry["href"])
    return files


def test_quarto_website_lists_every_notebook_in_course_order():
    config = quarto_config()
    assert config["project"]["type"] == "website"
    listed = sidebar_files(config["website"]["sidebar"]["contents"])
    notebooks = [str(p.relative_to(REPO_ROOT)) for p in notebook_paths()]
    assert listed[0] == "index.qmd"
    assert listed[1:] == notebooks
    for path in listed:
        assert (REPO_ROOT / path).is_file(), f"_quarto.yml lists {path}, which does not exist"


def test_quarto_renders_stored_outputs_with_the_promised_html_options():
    config = quarto_config()
    assert config["execute"]["enabled"] is False
    assert set(config["project"]["render"]) == {
        "index.qmd",
        "notebooks/*.ipynb",
        "README.md",
        "slides/*.qmd",
        "!notebooks/*.executed.ipynb",
    }
    assert "notebooks/*.ipynb" in config["project"]["resources"], "each page links to its notebook"
    html = config["format"]["html"]
    assert html["toc"] is True and html["number-sections"] is True and html["code-line-numbers"] is True
    assert html["html-math-method"] == "mathml", "formulas typeset offline, with no script from a CDN"


def test_course_map_links_every_notebook():
    index = (REPO_ROOT / "index.qmd").read_text()
    assert yaml.safe_load(index.split("---")[1])["title"]
    for path in notebook_paths():
        assert f"(notebooks/{path.name})" in index, f"index.qmd does not link {path.name}"


def test_readme_links_every_notebook():
    readme = (REPO_ROOT / "README.md").read_text()
    for path in notebook_paths():
        assert f"(notebooks/{path.name})" in readme, f"README.md does not link {path.name}"
