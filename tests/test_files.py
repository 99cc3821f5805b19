"""Tests for helpers.core.files: a file is replaced whole or not at all."""

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers.core.files import replace_atomically
from helpers.core.paths import REPO_ROOT


def test_new_content_replaces_the_old_and_no_temporary_file_is_left(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    assert replace_atomically(target, lambda stream: stream.write(b"new content")) == target
    assert target.read_bytes() == b"new content"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [path.name for path in tmp_path.iterdir()] == ["model.pt"]


def test_a_new_file_gets_ordinary_permissions(tmp_path):
    target = replace_atomically(tmp_path / "fresh.txt", lambda stream: stream.write(b"x"))
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_the_old_file(tmp_path, interruption):
    target = tmp_path / "notebook.ipynb"
    target.write_bytes(b"the good old notebook")

    def write_half_then_fail(stream):
        stream.write(b"half of the new")
        raise interruption("interrupted halfway")

    with pytest.raises(interruption, match="interrupted halfway"):
        replace_atomically(target, write_half_then_fail)
    assert target.read_bytes() == b"the good old notebook"
    assert [path.name for path in tmp_path.iterdir()] == ["notebook.ipynb"]


WRITER = """
import sys, time
from helpers.core.files import replace_atomically

def write(stream):
    stream.write(b"x" * 1000)
    stream.flush()
    print("halfway", flush=True)
    time.sleep(60)
    stream.write(b"never")

replace_atomically(sys.argv[1], write)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is a POSIX signal")
def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"the good old checkpoint")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert writer.stdout.readline().strip() == "halfway"
        time.sleep(0.1)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert target.read_bytes() == b"the good old checkpoint"
    leftovers = [path.name for path in tmp_path.iterdir() if path != target]
    assert len(leftovers) == 1 and leftovers[0].startswith(".checkpoint.pt.") and leftovers[0].endswith(".tmp")
