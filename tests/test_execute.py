"""Tests for helpers.execute: notebooks re-executed in place, headless in the kernel only."""

import errno
import json
import os
import signal
import site
import subprocess
import sys
import time
import venv
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output, new_raw_cell

from helpers.core.explorer import HEADLESS_ENV_VAR
from helpers.core.paths import REPO_ROOT
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


def fake_installed_python(folder, other_checkout):
    """A Python environment with this one's packages, where `helpers` is installed from `other_checkout`.

    A `.pth` line adds this environment's site-packages without processing its own `.pth` files (so this
    checkout's editable install stays inactive); another points at the other checkout, as `pip install -e` does.
    """
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / "bin" / "python"
    own = subprocess.run(
        [python, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True
    )
    Path(own.stdout.strip(), "a_course.pth").write_text(f"{other_checkout}\n")
    Path(own.stdout.strip(), "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.mark.slow  # starts a Jupyter kernel
def test_the_kernel_imports_helpers_from_this_checkout_even_where_another_is_installed(tmp_path, monkeypatch):
    other = tmp_path / "other-checkout"
    (other / "helpers").mkdir(parents=True)
    (other / "helpers" / "__init__.py").write_text('"""A second checkout of the course."""\n')
    python = fake_installed_python(tmp_path / "env", other)
    kernels = tmp_path / "jupyter" / "kernels" / "python3"  # the kernel helpers.execute asks for
    kernels.mkdir(parents=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"], "language": "python"}
    (kernels / "kernel.json").write_text(json.dumps({**spec, "display_name": "Python 3"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    probe = subprocess.run(
        [python, "-c", "import helpers; print(helpers.__file__)"], capture_output=True, text=True, cwd=tmp_path
    )
    assert probe.stdout.strip() == str(other / "helpers" / "__init__.py")  # the other checkout is the installed one

    path = write_notebook(tmp_path / "01-which.ipynb", "import helpers\nprint(helpers.__file__)")
    assert main([str(path)]) == 0
    printed = nbformat.read(path, as_version=4).cells[0].outputs[0].text
    assert printed == f"{REPO_ROOT / 'helpers' / '__init__.py'}\n"


@pytest.mark.slow  # starts a Jupyter kernel
def test_the_kernel_talks_over_local_sockets_and_warns_of_nothing(tmp_path, capfd):
    source = "from ipykernel.connect import get_connection_info\nprint(get_connection_info(unpack=True)['transport'])"
    path = write_notebook(tmp_path / "01-transport.ipynb", source)
    assert main([str(path)]) == 0
    out, err = capfd.readouterr()  # the file descriptors, where the kernel's own messages go
    assert nbformat.read(path, as_version=4).cells[0].outputs[0].text == "ipc\n"
    assert "WARNING" not in out + err and "encryption" not in out + err


@pytest.mark.slow  # starts a Jupyter kernel
def test_a_notebook_saved_while_it_runs_is_kept_and_the_executed_copy_lies_beside_it(tmp_path, capsys):
    path = tmp_path / "01-edited.ipynb"
    edit = (  # what a student saving in JupyterLab does: the file on disk changes while the notebook runs
        "import nbformat\n"
        f"notebook = nbformat.read({str(path)!r}, as_version=4)\n"
        "notebook.cells.append(nbformat.v4.new_markdown_cell('my notes'))\n"
        f"nbformat.write(notebook, {str(path)!r})"
    )
    write_notebook(path, edit, "print('ran')")
    assert main([str(path)]) == 1
    copy = tmp_path / "01-edited.executed.ipynb"
    out, err = capsys.readouterr()
    assert out.splitlines()[1] == (
        f"  FAILED: it changed on disk while it ran, so it was kept as it is; the executed copy is {copy}"
    )
    assert err == f"1 of 1 notebooks failed: {path}\n"
    assert nbformat.read(path, as_version=4).cells[-1].source == "my notes"  # the edit survives
    assert nbformat.read(copy, as_version=4).cells[1].outputs[0].text == "ran\n"


def stored_error_below(path, source):
    """A notebook whose cell 1 runs `source`, above a cell that still shows an error from an old run."""
    old_error = new_output("error", ename="NameError", evalue="name 'y' is not defined", traceback=[])
    cells = [new_code_cell("x = 1"), new_code_cell(source), new_code_cell("y", outputs=[old_error])]
    nbformat.write(
        new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}), path
    )
    return path


@pytest.mark.slow  # starts Jupyter kernels
def test_the_cell_that_hung_or_ended_the_kernel_is_named_not_an_old_error_below_it(tmp_path, capsys):
    hangs = stored_error_below(tmp_path / "01-hangs.ipynb", "import time\ntime.sleep(60)")
    exits = stored_error_below(tmp_path / "02-exits.ipynb", "import os\nos._exit(1)")
    assert main(["--timeout", "2", str(hangs), str(exits)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "  FAILED: cell 1 was still running after 2 s and was stopped; raise --timeout if it needs longer "
        "(the notebook on disk is unchanged)"
    )
    assert out[3] == "  FAILED: cell 1 ended the kernel: it exited or crashed (the notebook on disk is unchanged)"


@pytest.mark.slow  # starts Jupyter kernels
def test_an_unwritable_folder_or_a_full_disk_fails_one_notebook_in_one_line_and_the_others_still_run(
    tmp_path, capsys, monkeypatch
):
    import helpers.execute

    locked, full = tmp_path / "read-only", tmp_path / "full"
    locked.mkdir(), full.mkdir()
    marker = tmp_path / "ran"
    not_run = write_notebook(locked / "01-locked.ipynb", f"open({str(marker)!r}, 'w').close()")
    not_saved = write_notebook(full / "02-full.ipynb", "print('computed')")
    passing = write_notebook(tmp_path / "03-passing.ipynb", "print('fine')")
    stored = not_saved.read_bytes()
    real_open, real_replace = os.open, helpers.execute.replace_atomically

    def open_(file, flags, *args, **kwargs):  # nothing can be created in `locked` (chmod does not stop root)
        creates = flags & (os.O_CREAT | getattr(os, "O_TMPFILE", 0))
        if creates and locked in (Path(file), Path(file).parent):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    def replace(target, write):
        if Path(target).parent == full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(target, write)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(helpers.execute, "replace_atomically", replace)
    assert main([str(not_run), str(not_saved), str(passing)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[1] == f"  FAILED: cannot write in {locked} (Permission denied), so it was not run"
    assert (
        out.splitlines()[3]
        == "  FAILED: could not save it (No space left on device); the notebook on disk is unchanged"
    )
    assert out.splitlines()[5].startswith("  done in ") and "Traceback" not in out + err
    assert err == f"2 of 3 notebooks failed: {not_run}, {not_saved}\n"
    assert not marker.exists() and not_saved.read_bytes() == stored


@pytest.mark.slow  # starts a Jupyter kernel
def test_ctrl_c_stops_with_one_line_per_notebook_a_summary_and_status_130(tmp_path):
    started = tmp_path / "started"
    running = write_notebook(
        tmp_path / "01-long.ipynb", f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(60)"
    )
    later = write_notebook(tmp_path / "02-later.ipynb", "print(1)")
    stored = running.read_bytes()
    command = [sys.executable, "-m", "helpers.execute", str(running), str(later)]
    # A session of its own, so that the signal goes to its process group as a terminal's Ctrl-C does
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert started.exists(), process.communicate()
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert out.splitlines() == [
        f"executing {running} ...",
        "  INTERRUPTED (the notebook on disk is unchanged)",
        f"skipped {later}",
    ]
    assert err == "interrupted: 0 of 2 notebooks executed\n"
    assert running.read_bytes() == stored
