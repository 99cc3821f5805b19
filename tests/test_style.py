"""The tree is clean under ruff: the lint rules and the formatter configured in pyproject.toml."""

import importlib.util
import os
import subprocess
import sys

import pytest

from helpers.core.paths import REPO_ROOT


def ruff(*args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("ruff") is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is missing; it is in the test extra: pip install -e '.[test]'")
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def test_ruff_check_passes():
    result = ruff("check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_unchanged():
    result = ruff("format", "--check", "--no-cache", ".")
    assert result.returncode == 0, f"run `ruff format .`:\n{result.stdout}{result.stderr}"
