"""Run any notebook alone in a hosted kernel such as Colab: its set-up cell and its Colab badge.

    python -m website.hosted_setup --write    # (re)write both into every notebook; safe to repeat
    python -m website.hosted_setup --check    # exit 1 if a notebook is not as --write would leave it

Both are made from two keys of `_quarto.yml`, the one place that holds them:
`course-repository` (the course's public GitHub address; empty: no badge and no Colab link
anywhere) and `course-ref` (the branch or tag that the Colab links open *and* that the set-up
cell installs, so that a notebook opened from a link runs with the helpers of its own version).

The set-up cell is the second code cell, right after the hidden `%matplotlib inline` cell and
before any import of `helpers`. Where `helpers` is importable (a clone, CI, `helpers.execute`)
it does nothing. Elsewhere it clones the repository into `./deep-learning-fundamentals` (or, run
again in a later session, fetches into the clone already there), checks out the ref (a branch at
its newest commit), installs the course there (editable, without dependencies: the hosted kernel keeps
its own PyTorch), puts it on `sys.path` and prints one line. `helpers` then finds `data/` in
the clone. A failing git or pip command is reported with its own message, and a `helpers` of
the student's own in the working folder is named rather than silently used. On the website the
cell is hidden (`#| include: false`).

Both keys must be text: `course-ref: 1.10` is the number 1.1 to YAML, so such a value must be
quoted. The ref must be a name git and GitHub accept that is also safe in a link: letters, digits
and `. _ + - /`, not starting with `-` or `.`.

A notebook file cannot hold its own commit. The downloadable copies on the website are stamped
by the post-render step (`website/stamp_notebooks.py`) with the commit the site was built from;
the Colab links open the notebook at `course-ref`, whose cell installs `course-ref`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script (Quarto's post-render step): the course's helpers sit beside us
    sys.path.insert(0, str(ROOT))
from helpers.core.files import replace_atomically  # noqa: E402  (standard library only)

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# The badge is the first line of the first markdown cell, followed by a blank line.
BADGE = re.compile(r"\A\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\n+")
MARKER = "# Hosted set-up"
GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9-]+)/(\w[\w.-]*?)(?:\.git)?/?", re.ASCII)
# A branch, tag or commit: git's rules for ref names (git check-ref-format), narrowed to what needs no quoting
# in a URL, Markdown or a shell; the `(?!...)` refuses "..", "//", a part starting with "." and an end in "." or ".lock".
REF = re.compile(r"(?!.*(\.\.|//|/\.|\.lock(/|$)|[/.]$))[A-Za-z0-9_][A-Za-z0-9_.+/-]*")
CALL = re.compile(r'^set_up_hosted_course\(repository=(".*"), ref=(".*")\)$', re.M)

CELL = """#| include: false
# Hosted set-up: in a clone of the course this cell does nothing. In a hosted kernel such as Colab,
# where the notebook runs alone, it fetches the course at `ref`, installs it, and makes `helpers`
# and data/ importable. Written from _quarto.yml by `python -m website.hosted_setup --write`.
def set_up_hosted_course(repository, ref):
    import importlib.util, subprocess, sys
    from pathlib import Path

    found = importlib.util.find_spec("helpers")
    if found is not None and any(Path(place, "core").is_dir() for place in found.submodule_search_locations or []):
        return  # a clone of the course, or a kernel where it is installed
    if found is not None:
        raise RuntimeError(f"Your own helpers ({found.origin or 'a folder'}) hides the course's helpers package: "
                           "rename it, then run this cell again.")
    if not repository:
        raise RuntimeError("This notebook needs the course's helpers package: clone the course and open "
                           "the notebook there (see its README); no repository address is configured.")
    folder = Path.cwd() / "deep-learning-fundamentals"

    def run(*command):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} ... failed: {(done.stderr or done.stdout).strip()}")
        return done.stdout.strip()

    if (folder / ".git").exists():  # cloned in an earlier session: bring it up to date
        run("git", "-C", str(folder), "fetch", "--quiet", "--force", "--tags", "origin")
    else:
        run("git", "clone", "--quiet", repository, str(folder))
    branch = subprocess.run(["git", "-C", str(folder), "rev-parse", "--verify", "--quiet", f"origin/{ref}"],
                            capture_output=True).returncode == 0
    run("git", "-C", str(folder), "checkout", "--quiet", "--detach", f"origin/{ref}" if branch else ref, "--")
    run(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(folder))
    sys.path.insert(0, str(folder))
    commit = run("git", "-C", str(folder), "rev-parse", "--short=12", "HEAD")
    print(f"Hosted kernel: installed the course from {repository} at {ref} (commit {commit}) in {folder}.")


set_up_hosted_course(repository=@REPOSITORY@, ref=@REF@)"""


def read_config(quarto_yml: Path = ROOT / "_quarto.yml") -> tuple[str, str]:
    """`(course-repository, course-ref)` from `_quarto.yml`; the address may be empty, the ref may not.

    Each must be text as YAML reads it (quoted if it would read as a number or a yes/no), the address
    a GitHub one and the ref a name that `REF` accepts; else `SystemExit` says which and how to fix it.
    """
    import yaml

    text = quarto_yml.read_text(encoding="utf-8")
    config, written = yaml.safe_load(text) or {}, yaml.load(text, Loader=yaml.BaseLoader) or {}  # values, as typed
    for key in ("course-repository", "course-ref"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise SystemExit(
                f"{quarto_yml}: {key} must be text, but YAML reads {written[key]} as {config[key]!r}: put it in quotes, "
                f'{key}: "{written[key]}"'
            )
    repository, ref = (config.get("course-repository") or "").strip(), (config.get("course-ref") or "").strip()
    if repository and not GITHUB.fullmatch(repository):
        raise SystemExit(f"{quarto_yml}: course-repository must be https://github.com/OWNER/NAME, got {repository!r}")
    if not ref:
        raise SystemExit(f"{quarto_yml}: course-ref must name the branch or tag the Colab links open")
    if not REF.fullmatch(ref):
        raise SystemExit(
            f"{quarto_yml}: course-ref must be a branch, tag or commit name of letters, digits and . _ + - / "
            f"(not starting with - or ., no '..'), got {ref!r}"
        )
    return repository, ref


def colab_url(repository: str, ref: str, notebook: str) -> str:
    """Colab's address of `notebooks/<notebook>` at `ref` in a GitHub repository; "" without an address."""
    match = GITHUB.fullmatch(repository)
    if not match:
        return ""
    owner, name = match.groups()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{ref}/notebooks/{notebook}"


def set_up_cell(repository: str, ref: str) -> str:
    """The set-up cell's source for this address and ref."""
    return CELL.replace("@REPOSITORY@", json.dumps(repository)).replace("@REF@", json.dumps(ref))


def badge(url: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({url})\n\n" if url else ""


def is_set_up_cell(cell: dict) -> bool:
    return cell["cell_type"] == "code" and cell["source"].startswith(f"#| include: false\n{MARKER}")


def apply(notebook, name: str, repository: str, ref: str) -> None:
    """Put the set-up cell and the badge that `repository` and `ref` make into `notebook` (an nbformat node)."""
    import nbformat

    old = next((cell for cell in notebook.cells if is_set_up_cell(cell)), None)
    cells = [cell for cell in notebook.cells if cell is not old]
    code = [index for index, cell in enumerate(cells) if cell.cell_type == "code"]
    if not code:
        raise ValueError(f"{name} has no code cell to put the set-up cell after")
    setup = old if old is not None else nbformat.v4.new_code_cell()  # an old cell keeps its id
    setup.source = set_up_cell(repository, ref)
    cells.insert(code[0] + 1, setup)
    first_markdown = next((cell for cell in cells if cell.cell_type == "markdown"), None)
    if first_markdown is None:
        raise ValueError(f"{name} has no markdown cell to carry the Colab badge: add its introduction")
    first_markdown.source = badge(colab_url(repository, ref, name)) + BADGE.sub("", first_markdown.source)
    notebook.cells = cells


def notebook_files(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite every notebook's set-up cell and badge")
    action.add_argument("--check", action="store_true", help="exit 1 if a notebook is not as --write leaves it")
    args = parser.parse_args(argv)
    repository, ref = read_config()
    stale = []
    for path in notebook_files():
        notebook = nbformat.read(path, as_version=4)
        before = nbformat.writes(notebook)
        try:
            apply(notebook, path.name, repository, ref)
        except ValueError as error:
            raise SystemExit(str(error)) from None
        text = nbformat.writes(notebook)
        if text != before:
            stale.append(path.name)
            if args.write:
                data = (text if text.endswith("\n") else text + "\n").encode("utf-8")
                replace_atomically(path, lambda stream, data=data: stream.write(data))
    if not stale:
        print("every notebook's set-up cell and badge are up to date")
    elif args.write:
        print(f"rewrote the set-up cell and badge of {', '.join(stale)}")
    else:
        print(f"not up to date (run python -m website.hosted_setup --write): {', '.join(stale)}")
    return 1 if stale and args.check else 0


def stamp(notebook_text: str, commit: str) -> str:
    """A notebook's text with its set-up cell's ref replaced by `commit` (the commit the site was built from)."""
    notebook = json.loads(notebook_text)
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if is_set_up_cell({**cell, "source": source}):
            cell["source"] = CALL.sub(
                lambda m: f"set_up_hosted_course(repository={m[1]}, ref={json.dumps(commit)})", source
            )
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def built_commit(root: Path = ROOT) -> str:
    """The commit the working tree is checked out at; "" outside a git repository."""
    result = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


if __name__ == "__main__":
    sys.exit(main())
