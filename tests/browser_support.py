"""What the browser tests share: Debian's Chromium and the explorers stored in a notebook."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
_EXPLORER_DATA = re.compile(r'<script type="application/json" class="dlf-explorer-data">(.*?)</script>', re.S)


def stored_explorers(path: Path) -> list[dict]:
    """The frame tables (`{"images": [...], "frames": {"i,j": image}}`) of a notebook's stored explorers, in order."""
    tables = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            tables += [json.loads(data) for data in _EXPLORER_DATA.findall(output.get("data", {}).get("text/html", ""))]
    return tables
