"""A throw-away JupyterLab server for the browser tests, always shut down with its kernels.

The server runs from this Python environment on 127.0.0.1 with a free port and a
random token. Its configuration, runtime, data, settings, workspaces and
checkpoints live in a temporary folder, so neither the user's settings nor
leftovers reach the test, and JupyterLab itself writes nothing into the repository
(no checkpoints, no autosave) apart from the log the caller names.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from helpers.core.explorer import HEADLESS_ENV_VAR

# Lab settings for a quiet, read-only session: no news pop-up, no update check, no autosave.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


@dataclass(frozen=True)
class LabServer:
    """A running server: its base URL, token, root folder, process and where its kernels' files live."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    runtime_dir: Path

    def api(self, endpoint: str, method: str = "GET", timeout: float = 30):
        """Call the server's REST API; returns the decoded JSON reply (None when empty)."""
        request = urllib.request.Request(
            f"{self.url}api/{endpoint}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self, kernel_ids: list[str] | None = None) -> None:
        """Shut down these kernels, or every kernel the server runs (a hung one is killed after a short
        grace period); one that is gone already is fine."""
        for kernel_id in [kernel["id"] for kernel in self.api("kernels")] if kernel_ids is None else kernel_ids:
            try:
                self.api(f"kernels/{kernel_id}", method="DELETE")
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels this server started, found by their connection files (Linux)."""
        pids = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if str(self.runtime_dir).encode() in cmdline.read_bytes():
                    pids.append(int(cmdline.parent.name))
            except OSError:  # the process ended while we looked
                continue
        return pids


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    for plugin, values in SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_until_ready(server: LabServer, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode}; its log:\n{log.read_text()[-3000:]}"
            )
        try:
            server.api("status", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(
        f"JupyterLab did not answer within {timeout:.0f} s; the end of its log:\n{log.read_text()[-3000:]}"
    )


def _stop(server: LabServer, grace: float) -> None:
    """Ask the server to shut down with its kernels; then kill its process group and any kernel left."""
    with suppress(OSError, ValueError, subprocess.TimeoutExpired):
        server.api("shutdown", method="POST", timeout=grace)
        server.process.wait(timeout=grace)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if server.process.poll() is not None:
            break
        with suppress(ProcessLookupError):
            os.killpg(server.process.pid, sig)
        with suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=grace)
    for pid in server.kernel_pids():  # kernels run in sessions of their own
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def running_jupyterlab(
    root: Path, log: Path, *, env: dict[str, str] | None = None, startup_timeout: float = 120, grace: float = 10
) -> Iterator[LabServer]:
    """Start JupyterLab serving `root`, logging to `log`; yield it ready, and stop it whatever happens.

    `env` adds variables to the environment of the server and its kernels.
    """
    with tempfile.TemporaryDirectory(prefix="dlf-jupyterlab-") as scratch:
        scratch = Path(scratch)
        _write_settings(scratch / "user-settings")
        env = {
            **{key: value for key, value in os.environ.items() if key != HEADLESS_ENV_VAR},  # live widgets
            **(env or {}),
        }
        env.update(
            JUPYTER_CONFIG_DIR=str(scratch / "config"),
            JUPYTER_DATA_DIR=str(scratch / "data"),
            JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
            IPYTHONDIR=str(scratch / "ipython"),
        )
        port, token = free_port(), secrets.token_hex(24)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            f"--FileCheckpoints.checkpoint_dir={scratch / 'checkpoints'}",
            f"--LabApp.user_settings_dir={scratch / 'user-settings'}",
            f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=None",
            "--expose-app-in-browser",
        ]
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as log_file:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            server = LabServer(f"http://127.0.0.1:{port}/", token, root, process, scratch / "runtime")
            try:
                _wait_until_ready(server, log, startup_timeout)
                yield server
            finally:
                _stop(server, grace)
