"""What the browser tests share: Debian's Chromium, started once per test session, and the explorers
stored in a notebook."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip the calling test where Debian's Chromium is missing, except in CI (`CI` set), where it fails."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing; .ci/run installs it (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); no browser is downloaded")


_session = None  # (Playwright's driver, the browser), while started


def chromium():
    """Debian's headless Chromium, driven by Playwright: started on first use, one for the whole session."""
    global _session
    if _session is None:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _session = playwright, playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    return _session[1]


def close_chromium() -> None:
    """Close the session's Chromium and Playwright's driver, if they were started."""
    global _session
    if _session is not None:
        playwright, browser = _session
        _session = None
        browser.close()
        playwright.stop()


_EXPLORER_DATA = re.compile(r'<script type="application/json" class="dlf-explorer-data">(.*?)</script>', re.S)


def stored_explorers(path: Path) -> list[dict]:
    """The frame tables (`{"images": [...], "frames": {"i,j": image}}`) of a notebook's stored explorers, in order."""
    tables = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            tables += [json.loads(data) for data in _EXPLORER_DATA.findall(output.get("data", {}).get("text/html", ""))]
    return tables
