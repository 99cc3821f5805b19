"""Where the repository, its data and its run artefacts live.

Paths are resolved from this file, never from the working directory, so a
notebook opened from anywhere finds the same data.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The data folder: `$DLF_DATA_DIR` if set, else `data/` in the repository."""
    override = os.environ.get("DLF_DATA_DIR")
    return Path(override).expanduser().resolve() if override else REPO_ROOT / "data"


def artifacts_dir() -> Path:
    """A git-ignored folder for trained models and other run artefacts (created on demand)."""
    override = os.environ.get("DLF_ARTIFACTS_DIR")
    path = Path(override).expanduser().resolve() if override else REPO_ROOT / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
