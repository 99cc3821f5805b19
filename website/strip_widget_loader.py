"""Quarto post-render step: drop the widget loader Quarto adds to pages that need none.

Quarto 1.10 puts require.js and jQuery from a CDN into the head of every page of a
notebook with an HTML output (core/jupyter/widgets.ts counts any `text/html` output
as a JavaScript widget), followed by `define('jquery', ...)`. The course's HTML
outputs are self-contained explorers and code listings that need neither; the
loader only asks a CDN for scripts and, offline, throws `define is not defined`.
A page that does hold a Jupyter widget view keeps the loader.
"""

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the course's helpers, beside this folder
from helpers.core.files import replace_atomically  # noqa: E402  (standard library only)

LOADER = re.compile(  # its three tags; Quarto moves the jQuery one to the top of the head
    r'<script src="https://cdn\.jsdelivr\.net/npm/(?:requirejs@[^"/]*/require|jquery@[^"/]*/dist/jquery)\.min\.js"'
    r"[^>]*></script>\n?"
    r"|<script type=\"application/javascript\">define\('jquery', \[\],function\(\) \{return window\.jQuery;\}\)</script>\n?"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip(page: Path) -> bool:
    """Remove the loader from one rendered page; True if it was there."""
    html = page.read_text(encoding="utf-8")
    if WIDGET_VIEW in html:
        return False
    stripped, count = LOADER.subn("", html)
    if count not in (0, 3):
        raise SystemExit(f"{page}: found {count} of the 3 tags of Quarto's widget loader; update {__file__}")
    if count:
        replace_atomically(page, lambda stream: stream.write(stripped.encode("utf-8")))
    return bool(count)


def main() -> int:
    """Strip every page of the rendered site (Quarto runs this from the project root)."""
    for page in Path(os.environ["QUARTO_PROJECT_OUTPUT_DIR"]).rglob("*.html"):
        strip(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
