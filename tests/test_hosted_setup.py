"""The hosted set-up cell and the Colab badge (website/hosted_setup.py), and a notebook run alone as Colab would.

The slow test simulates a hosted kernel offline: a fresh Python environment that has the
course's dependencies but not the course (no `helpers` importable), a kernel started in an
empty folder holding one notebook and nothing else, and the repository address pointed at
a local clone of this repository. The set-up cell must fetch, install and announce the
course in one line, and the whole notebook must then run from there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import site
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.core.paths import REPO_ROOT
from helpers.execute import notebook_paths

spec = importlib.util.spec_from_file_location("hosted_setup", REPO_ROOT / "website" / "hosted_setup.py")
hosted_setup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hosted_setup)

ADDRESS = "https://github.com/example-owner/deep-learning-fundamentals"
QUICK_NOTEBOOK = "01-network-families.ipynb"


def test_every_notebook_carries_the_set_up_cell_and_badge_that_quarto_yml_makes():
    result = subprocess.run(
        [sys.executable, "-m", "website.hosted_setup", "--check"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_committed_address_is_empty_or_github_and_the_ref_is_set():
    repository, ref = hosted_setup.read_config()
    assert repository == "" or hosted_setup.GITHUB.fullmatch(repository)
    assert ref


def test_a_configured_address_gives_every_notebook_the_badge_of_its_page_and_writing_twice_changes_nothing():
    for path in notebook_paths():
        notebook = nbformat.read(path, as_version=4)
        hosted_setup.apply(notebook, path.name, ADDRESS, "v1.0")
        once = nbformat.writes(notebook)
        hosted_setup.apply(notebook, path.name, ADDRESS, "v1.0")
        assert nbformat.writes(notebook) == once, f"{path.name}: --write is not idempotent"
        url = f"https://colab.research.google.com/github/example-owner/deep-learning-fundamentals/blob/v1.0/notebooks/{path.name}"
        first_markdown = next(cell for cell in notebook.cells if cell.cell_type == "markdown")
        assert first_markdown.source.startswith(f"[![Open In Colab]({hosted_setup.BADGE_IMAGE})]({url})\n\n")
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert code[1] == hosted_setup.set_up_cell(ADDRESS, "v1.0")
        assert sum(hosted_setup.is_set_up_cell(cell) for cell in notebook.cells) == 1
        hosted_setup.apply(notebook, path.name, "", "main")  # back to no address: no badge left behind
        assert nbformat.writes(notebook) == nbformat.writes(nbformat.read(path, as_version=4))


def test_colab_links_only_for_a_github_address():
    assert hosted_setup.colab_url("", "main", "x.ipynb") == ""
    assert hosted_setup.colab_url("https://gitlab.com/a/b", "main", "x.ipynb") == ""
    assert hosted_setup.colab_url("https://github.com/a/b.git", "main", "x.ipynb") == (
        "https://colab.research.google.com/github/a/b/blob/main/notebooks/x.ipynb"
    )
    assert hosted_setup.badge("") == ""


def test_stamping_pins_the_downloadable_copy_to_the_commit_and_changes_nothing_else():
    path = REPO_ROOT / "notebooks" / QUICK_NOTEBOOK
    original = json.loads(path.read_text())
    stamped = json.loads(hosted_setup.stamp(path.read_text(), "0123456789abcdef"))
    changed = [i for i, (a, b) in enumerate(zip(original["cells"], stamped["cells"])) if a != b]
    assert len(changed) == 1 and hosted_setup.is_set_up_cell(
        {**stamped["cells"][changed[0]], "source": "".join(stamped["cells"][changed[0]]["source"])}
    )
    assert 'ref="0123456789abcdef")' in "".join(stamped["cells"][changed[0]]["source"])


def run_cell(source: str, find_spec) -> str:
    """Run the set-up cell here with `find_spec` standing in for importlib's; what it printed."""
    import contextlib
    import io

    output = io.StringIO()
    real = importlib.util.find_spec
    importlib.util.find_spec = find_spec
    try:
        with contextlib.redirect_stdout(output):
            exec(compile(re.sub(r"^#\|.*$", "", source, flags=re.M), "<set-up cell>", "exec"), {})
    finally:
        importlib.util.find_spec = real
    return output.getvalue()


def test_in_a_clone_the_cell_does_nothing(monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"the cell ran {a}"))
    assert run_cell(hosted_setup.set_up_cell(ADDRESS, "main"), importlib.util.find_spec) == ""


def test_alone_with_no_address_the_cell_says_what_to_do():
    with pytest.raises(RuntimeError, match="clone the course and open the notebook there"):
        run_cell(hosted_setup.set_up_cell("", "main"), lambda name, *rest: None)


def hosted_python(folder: Path) -> Path:
    """A fresh environment with the course's dependencies (this one's site-packages) but without the course.

    A `.pth` line adds this environment's site-packages to the path without processing its
    `.pth` files, so the editable install of the course that may live there stays inactive.
    """
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / "bin" / "python"
    own = subprocess.run(
        [python, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True
    )
    Path(own.stdout.strip(), "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.mark.slow  # clones the repository, installs it into a fresh environment and runs a notebook (~40 s)
def test_a_notebook_alone_in_a_simulated_hosted_kernel_sets_up_the_course_and_runs_top_to_bottom(tmp_path, monkeypatch):
    commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        pytest.skip("not a git checkout: there is no commit to install")
    remote = tmp_path / "remote.git"  # stands in for the public repository
    subprocess.run(["git", "clone", "--quiet", "--bare", str(REPO_ROOT), str(remote)], check=True)
    python = hosted_python(tmp_path / "hosted-env")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('helpers'))"],
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "None", f"the simulated hosted kernel can import helpers: {probe}"
    kernels = tmp_path / "jupyter" / "kernels" / "hosted"
    kernels.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernels / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "hosted", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("DLF_HEADLESS", raising=False)  # a hosted kernel is interactive

    alone = tmp_path / "content"  # Colab's working folder: the notebook and nothing else
    alone.mkdir()
    notebook = nbformat.read(REPO_ROOT / "notebooks" / QUICK_NOTEBOOK, as_version=4)
    hosted_setup.apply(notebook, QUICK_NOTEBOOK, remote.as_uri(), commit.stdout.strip())
    notebook.cells.append(nbformat.v4.new_code_cell("import helpers, torch; print(helpers.__file__)"))
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="hosted",
        resources={"metadata": {"path": str(alone)}},
        shutdown_kernel="immediate",  # as helpers.execute: no waiting for PyTorch's teardown
    )
    client.execute()

    setup = next(cell for cell in notebook.cells if hosted_setup.is_set_up_cell(cell))
    printed = "".join(output.get("text", "") for output in setup.outputs)
    course = alone / "deep-learning-fundamentals"
    assert printed == (
        f"Hosted kernel: installed the course from {remote.as_uri()} at {commit.stdout.strip()} "
        f"(commit {commit.stdout.strip()[:12]}) in {course}.\n"
    )
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    assert notebook.cells[-1].outputs[0].text.strip() == str(course / "helpers" / "__init__.py")


def write_config(folder: Path, text: str) -> Path:
    path = folder / "_quarto.yml"
    path.write_text(f"project:\n  type: website\n{text}\n")
    return path


@pytest.mark.parametrize(
    "written, read",
    [
        ('course-ref: "1.10"', "1.10"),
        ("course-ref: 'yes'", "yes"),
        ("course-ref: release/v1.2+cpu", "release/v1.2+cpu"),
    ],
)
def test_the_ref_is_read_as_text(tmp_path, written, read):
    assert hosted_setup.read_config(write_config(tmp_path, written)) == ("", read)


@pytest.mark.parametrize(
    "written, message",
    [
        (
            "course-ref: 1.10",
            'course-ref must be text, but YAML reads 1.10 as 1.1: put it in quotes, course-ref: "1.10"',
        ),
        ("course-ref: yes", 'YAML reads yes as True: put it in quotes, course-ref: "yes"'),
        ("course-ref: main\ncourse-repository: 123", "course-repository must be text, but YAML reads 123 as 123"),
    ],
)
def test_a_value_that_yaml_reads_as_a_number_or_yes_no_must_be_quoted(tmp_path, written, message):
    with pytest.raises(SystemExit) as error:
        hosted_setup.read_config(write_config(tmp_path, written))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "ref", ["--orphan=evil", "v1)<b>x</b>", "a..b", ".hidden", "v1.lock", "a b", "a//b", "ends/", "ends.", "-x"]
)
def test_a_ref_git_or_a_link_would_misread_is_refused(tmp_path, ref):
    with pytest.raises(SystemExit, match=r"course-ref must be a branch, tag or commit name of letters, digits"):
        hosted_setup.read_config(write_config(tmp_path, f"course-ref: {json.dumps(ref)}"))


@pytest.mark.parametrize(
    "address", ["https://github.com/a b/c", "https://github.com/owner/..", "https://github.com/ówner/name"]
)
def test_an_address_that_is_not_a_github_repository_is_refused(tmp_path, address):
    with pytest.raises(SystemExit, match="course-repository must be https://github.com/OWNER/NAME"):
        hosted_setup.read_config(write_config(tmp_path, f"course-ref: main\ncourse-repository: {json.dumps(address)}"))


def test_a_notebook_without_a_markdown_cell_is_named():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline")])
    with pytest.raises(ValueError, match="01-bare.ipynb has no markdown cell to carry the Colab badge"):
        hosted_setup.apply(notebook, "01-bare.ipynb", ADDRESS, "main")


def test_a_helpers_of_ones_own_in_the_working_folder_is_named_not_used(tmp_path):
    (tmp_path / "helpers.py").write_text("x = 1\n")
    own = importlib.util.spec_from_file_location("helpers", tmp_path / "helpers.py")
    with pytest.raises(RuntimeError, match=r"helpers.py\) hides the course's helpers package: rename it"):
        run_cell(hosted_setup.set_up_cell(ADDRESS, "main"), lambda name, *rest: own)


def git(*arguments, cwd):
    identity = ["-c", "user.name=Course", "-c", "user.email=course@example.org", "-c", "init.defaultBranch=main"]
    done = subprocess.run(["git", *identity, *arguments], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_run_again_beside_an_old_clone_the_cell_fetches_the_newest_commit_or_says_what_git_said(tmp_path, monkeypatch):
    remote = tmp_path / "remote"  # stands in for the public repository
    remote.mkdir()
    git("init", "--quiet", cwd=remote)

    def commit(text):
        (remote / "version.txt").write_text(text)
        git("add", "version.txt", cwd=remote)
        git("commit", "--quiet", "-m", text, cwd=remote)
        return git("rev-parse", "HEAD", cwd=remote)

    real_run = subprocess.run

    def no_pip(command, *args, **kwargs):  # git runs; pip would install into this test's environment
        if list(command[1:3]) == ["-m", "pip"]:
            return subprocess.CompletedProcess(command, 0, "", "")
        return real_run(command, *args, **kwargs)

    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.chdir(content)
    monkeypatch.setattr(subprocess, "run", no_pip)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the cell puts the clone on the path

    def session(ref):  # a fresh kernel, with the clone of an earlier session still in the folder
        return run_cell(hosted_setup.set_up_cell(remote.as_uri(), ref), lambda name, *rest: None)

    first = commit("first")
    assert f"(commit {first[:12]})" in session("main")
    second = commit("second")
    assert f"(commit {second[:12]})" in session("main")
    third = commit("third")
    assert f"(commit {third[:12]})" in session(third)
    with pytest.raises(RuntimeError, match=r"checkout \.\.\. failed: fatal: invalid reference: no-such-tag"):
        session("no-such-tag")
