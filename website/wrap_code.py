"""Quarto post-render step: let code and printed output wrap between tokens, never inside a name or a number.

The pages wrap long lines of code at the column's edge (`white-space: pre-wrap`, website/theme.scss),
which breaks a line at a space, and also after a hyphen. A run such as `z.detach().numpy().round(3)`
has no space, and on a phone it would stick out, or be cut mid-word where code may break anywhere.
This step changes the HTML of every block of code and output (`<pre>`) in every page and deck:

- in highlighted code, a `<wbr>` (a break opportunity, no character: copying the code copies the
  same text) after each `.` that follows a name and after each opening bracket, outside strings and
  comments (which, like prose, break at their spaces);
- everywhere, a number in exponent notation (`2.3e-05`) and an arrow (`->`) are kept whole
  (`<span class="dlf-nowrap">`), so that a line never breaks after their hyphen.

A run with no break opportunity that is wider than a phone (a long name) scrolls inside its block.
Running it again changes nothing.
"""

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the course's helpers, beside this folder
from helpers.core.files import replace_atomically  # noqa: E402  (standard library only)

PRE = re.compile(r"(<pre[\s>].*?</pre>)", re.S)
TAG = re.compile(r"(<[^>]*>)")
# After an attribute's dot (`x.y`, not `0.5`), and after an opening bracket that something follows
# (at the end of a text the next token starts: `numpy().<span class="bu">round</span>`).
BREAK = re.compile(r"(?<=[A-Za-z_)\]])\.(?=[A-Za-z_]|\Z)|[(\[{](?=[^\s)\]}]|\Z)")
WHOLE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]\d+|-&gt;|&lt;-|=&gt;")
WBR = "<wbr>"
# Pandoc's highlighting classes of strings, comments and docs: their text breaks at spaces only.
WORDS = {"st", "ss", "vs", "ch", "co", "do", "an", "cv", "in"}
SPAN = re.compile(r'<span(?: class="([^"]*)")?[^>]*>')
NOWRAP = '<span class="dlf-nowrap">'


def wrap_block(block: str) -> str:
    """One `<pre>` element with its break opportunities and unbreakable runs marked."""
    code = 'class="sourceCode' in block.split(">", 1)[0]
    parts = TAG.split(block.replace(WBR, ""))  # text at even indices, tags at odd ones
    spans: list[str] = []  # the classes of the spans the text is in
    for index, part in enumerate(parts):
        if index % 2:
            if span := SPAN.fullmatch(part):
                spans.append(span.group(1) or "")
            elif part == "</span>" and spans:
                spans.pop()
            continue
        if spans and spans[-1] == "dlf-nowrap":
            continue  # marked by an earlier run of this step
        if code and not WORDS.intersection(spans):
            part = BREAK.sub(lambda m: m.group(0) + WBR, part)
        parts[index] = WHOLE.sub(lambda m: f"{NOWRAP}{m.group(0)}</span>", part)
    return "".join(parts)


def wrap(page: Path) -> bool:
    """Mark every block of code and output of one rendered page; True if it has any."""
    html = page.read_text(encoding="utf-8")
    changed, count = PRE.subn(lambda m: wrap_block(m.group(1)), html)
    if changed != html:
        replace_atomically(page, lambda stream: stream.write(changed.encode("utf-8")))
    return bool(count)


def main() -> int:
    """Every page of the rendered site (Quarto runs this from the project root)."""
    for page in Path(os.environ["QUARTO_PROJECT_OUTPUT_DIR"]).rglob("*.html"):
        wrap(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
