"""Replacing files so that a crash, Ctrl-C or kill never leaves a damaged one behind.

`replace_atomically` writes the new content to a temporary file beside the
target, flushes it to disk, and only then renames it over the target
(`os.replace` is atomic on one file system). At any moment the target holds
either its old content or the complete new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def replace_atomically(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Create or replace the file at `path` with what `write(stream)` writes to a binary stream.

    If `write` raises (or the process dies) the old file is left untouched and
    the temporary file is removed (or, after a kill, left as a hidden `.tmp` file
    beside it, never in its place).
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():  # keep the permissions of the file replaced (mkstemp creates it private)
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of a renamed file to disk where the system allows it (not on Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
