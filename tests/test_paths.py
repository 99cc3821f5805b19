"""Tests for helpers.core.paths: the repository's folders, found from the package and overridable."""

from helpers.core.paths import REPO_ROOT, artifacts_dir, data_dir


def test_repo_root_is_the_folder_that_holds_the_package():
    assert (REPO_ROOT / "helpers" / "core" / "paths.py").is_file()
    assert (REPO_ROOT / "pyproject.toml").is_file()


def test_data_dir_defaults_to_the_repository_and_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DLF_DATA_DIR", raising=False)
    assert data_dir() == REPO_ROOT / "data"
    monkeypatch.setenv("DLF_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data_dir() == (tmp_path / "elsewhere").resolve()


def test_artifacts_dir_is_created_on_demand(tmp_path, monkeypatch):
    target = tmp_path / "runs" / "artefacts"
    monkeypatch.setenv("DLF_ARTIFACTS_DIR", str(target))
    assert artifacts_dir() == target.resolve() and target.is_dir()
