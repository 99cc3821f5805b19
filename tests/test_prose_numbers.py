"""Every measurement quoted in the prose is one that the stored outputs show.

Re-executing a notebook on another machine changes some of its outputs; this test
makes sure no sentence silently keeps the old number. It reads the prose (markdown
cells, figure captions and alt texts, `index.qmd`, and each lecturer's deck in
`slides/`, its slides and speaker notes, against its own notebook) and finds every quoted
measurement: a decimal number, or a number with a unit of measurement (a percentage,
a factor such as "4.6x" or "three times", a duration, percentage points), whether it
is written in digits or in words. Each must appear in the same notebook's stored
text outputs (printed lines, displayed text and Markdown) with the same unit: a
decimal matches an output that rounds to it, a whole number must match exactly.
What is not a measurement (a learning rate, the lecture's published numbers,
mathematical constants) is listed below with the notebook it belongs to.

Not checked: code spans and code blocks (settings), and plain whole numbers without a
unit ("784 inputs", "epoch 22"), which are mostly sizes and counts the code sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import nbformat
import pytest
import yaml

from helpers.core.paths import REPO_ROOT
from helpers.execute import notebook_paths

# notebook stem (or "index") -> the numbers in its prose that are not measurements, as written there
CONSTANTS: dict[str, set[str]] = {
    "01-network-families": {"0.003", "21.9"},  # the learning rate; log 0.1 / log 0.9 in a solution
    "02-activation-functions": set(),
    "03-vanishing-gradients": set(),
    # 04: the tinted set's rule (95% of sevens red), SGD's learning rate, ln 10, the ceiling of accuracy
    "04-input-normalization": {"95%", "0.05", "2.30", "100%"},
    # 05: the magnitudes of the changes shown and used, and the tinted set's rule from 04
    "05-data-augmentation": {"30%", "20 percent", "10 percent", "95%"},
    "06-dropout-and-batch-normalization": set(),
    "07-classifying-digits": {"0.001"},  # Adam's default learning rate
    "index": set(),
}

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "hundred": 100, "a hundred": 100, "a thousand": 1000, "a million": 1_000_000,
    "half": 0.5, "a half": 0.5, "a third": 0.33, "a quarter": 0.25, "a tenth": 0.1, "two tenths": 0.2,
}  # fmt: skip
UNITS = {
    "%": "%", "percent": "%", "x": "x", "×": "x", "times": "x", "-fold": "x", "fold": "x",
    "s": "s", "sec": "s", "second": "s", "seconds": "s", "ms": "ms", "min": "min", "minute": "min",
    "minutes": "min", "point": "points", "points": "points", "percentage point": "points",
    "percentage points": "points", "of a point": "points", "of a percentage point": "points",
}  # fmt: skip
NUMBER = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?(?:e-?\d+)?"
WORD = "|".join(sorted((re.escape(w) for w in WORDS), key=len, reverse=True))
# Units that may touch the number ("97.6%", "4.6x") and units that follow a space ("4.29 s", "ten times"),
# so that "ones" or "the 3s" are not read as durations.
UNIT = (
    r"\s?%|-fold|(?:x|×)(?!\s*\d)|"
    r"\s(?:of a percentage point|of a point|percentage points?|points?|percent|fold|times|seconds?|sec|ms|minutes?|min|s)"
)
SCIENTIFIC = re.compile(r"(\d+(?:\.\d+)?)\s*\\times\s*10\^\{?(-?\d+)\}?")
MEASUREMENT = re.compile(
    rf"(?P<factor>factor of\s+)?(?<![\w.,])(?P<number>{NUMBER}|{WORD})(?![\w.]*\d)"
    rf"(?:(?P<unit>{UNIT})(?![a-zA-Z]))?",
    re.I,
)


@dataclass(frozen=True)
class Quote:
    text: str  # as written
    value: Decimal
    unit: str  # "" for a bare decimal
    exact: bool  # a whole number (or a word) must match exactly; a decimal may be rounded from the output


def quotes(text: str) -> list[Quote]:
    """The measurements quoted in `text`."""
    found = [
        Quote(m.group(0), Decimal(m.group(1)) * Decimal(10) ** int(m.group(2)), "", False)
        for m in SCIENTIFIC.finditer(text)
    ]
    text = SCIENTIFIC.sub(" ", text)
    for m in MEASUREMENT.finditer(text):
        raw, unit = m.group("number"), m.group("unit")
        word = raw.lower() in WORDS
        unit = UNITS[unit.strip().lower()] if unit else ("x" if m.group("factor") else "")
        value = Decimal(str(WORDS[raw.lower()])) if word else Decimal(raw.replace(",", ""))
        decimal = not word and "." in raw
        if word and not unit:
            continue
        if not decimal and not unit:
            continue
        found.append(Quote(m.group(0).strip(), value, unit, exact=not decimal))
    return found


def readable(markdown: str) -> str:
    """Prose without what is not prose: HTML comments (a solution's hidden checks), code blocks, code spans,
    link targets, HTML tags, cross-references."""
    markdown = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S)
    markdown = re.sub(r"```.*?```|~~~.*?~~~", " ", markdown, flags=re.S)
    markdown = re.sub(r"`[^`]*`", " ", markdown)
    markdown = re.sub(r"\]\([^)]*\)", "]", markdown)
    markdown = re.sub(r"<[^>]+>", " ", markdown)
    return re.sub(r"@(fig|sec|tbl)-[\w-]+", " ", markdown)


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.extend(output.data.get(kind, "") for kind in ("text/plain", "text/markdown"))
    return "\n".join(parts)


def matches(quote: Quote, shown: Quote) -> bool:
    if quote.unit and quote.unit != shown.unit:
        return False
    if quote.exact:
        return shown.value == quote.value
    places = Decimal(1).scaleb(quote.value.as_tuple().exponent)
    return shown.value.quantize(places, rounding=ROUND_HALF_EVEN) == quote.value


def output_quotes(text: str) -> list[Quote]:
    """Every number an output shows, with its unit if it has one (plain integers included)."""
    shown = []
    for m in MEASUREMENT.finditer(SCIENTIFIC.sub(" ", text)):
        raw = m.group("number")
        if raw.lower() in WORDS:
            continue
        unit = UNITS[m.group("unit").strip().lower()] if m.group("unit") else ""
        shown.append(Quote(raw, Decimal(raw.replace(",", "")), unit, exact=True))
        if unit == "%":  # a printed fraction may stand as a percentage: 97.61% is also 0.9761
            shown.append(Quote(raw, Decimal(raw.replace(",", "")) / 100, "", exact=True))
    return shown


def prose_and_outputs(stem: str):
    """[(where, prose)] and the output quotes of one notebook, or of `index.qmd` against every notebook."""
    prose, outputs = [], []
    paths = notebook_paths() if stem == "index" else [REPO_ROOT / "notebooks" / f"{stem}.ipynb"]
    for path in paths:
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown" and stem != "index":
                prose.append((f"cell {number}", readable(cell.source)))
            elif cell.cell_type == "code":
                outputs.extend(output_quotes(output_text(cell)))
                options = "\n".join(line[3:] for line in cell.source.splitlines() if line.startswith("#| "))
                for key in ("fig-cap", "fig-alt"):
                    caption = (yaml.safe_load(options) or {}).get(key) if stem != "index" else None
                    if caption:
                        prose.append((f"cell {number} {key}", readable(str(caption))))
    if stem == "index":
        prose.append(("index.qmd", readable((REPO_ROOT / "index.qmd").read_text())))
    return prose, outputs


STEMS = [path.stem for path in notebook_paths()] + ["index"]


@pytest.mark.parametrize("stem", STEMS)
def test_every_quoted_measurement_is_in_the_outputs(stem):
    prose, outputs = prose_and_outputs(stem)
    constants = CONSTANTS.get(stem, set())
    unsupported = [
        f"{where}: {quote.text!r}"
        for where, text in prose
        for quote in quotes(text)
        if quote.text not in constants and not any(matches(quote, shown) for shown in outputs)
    ]
    assert not unsupported, (
        f"{stem}: {len(unsupported)} numbers in the prose appear in no output. Quote what a cell prints "
        f"(or print it), or add a number that is not a measurement to CONSTANTS:\n  " + "\n  ".join(unsupported)
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("accuracy 97.6 % after 4.29 s per epoch, 6.7x faster", [("97.6", "%"), ("4.29", "s"), ("6.7", "x")]),
        ("a factor of three per layer, ten times fewer, about 5 s", [("3", "x"), ("10", "x"), ("5", "s")]),
        ("within a tenth of a point; lowest 0.343 at epoch 22", [("0.1", "points"), ("0.343", "")]),
        ("about $2 \\times 10^{-8}$ of it", [("2E-8", "")]),
        ("a 3 × 3 window on 784 inputs, 10,000 images, the ones and 3s", []),
    ],
)
def test_the_reader_finds_the_measurements_and_skips_sizes(text, expected):
    assert [(str(q.value.normalize()), q.unit) for q in quotes(text)] == [
        (str(Decimal(v).normalize()), u) for v, u in expected
    ]


def test_a_decimal_matches_its_rounded_output_and_a_whole_number_only_itself():
    shown = output_quotes("test accuracy 97.61%, loss 0.34312, 2.9x per layer")
    assert any(matches(quotes("97.6 %")[0], s) for s in shown)
    assert any(matches(quotes("0.9761")[0], s) for s in shown)
    assert any(matches(quotes("0.343")[0], s) for s in shown)
    assert not any(matches(quotes("0.344")[0], s) for s in shown)
    assert not any(matches(quotes("a factor of three")[0], s) for s in shown)


DECKS = sorted((REPO_ROOT / "slides").glob("[0-9][0-9]-*.qmd"))
SHORTCODE = re.compile(r"\{\{<.*?>\}\}", re.S)  # {{< embed ../notebooks/NN-name.ipynb#fig-label >}}
FENCE = re.compile(r"^:{3,}.*$", re.M)  # ::: notes, :::: {.columns}, ::: {.column width="45%"}


def deck_prose(path) -> list[tuple[str, str]]:
    """[(where, prose)] of one deck: its title, subtitle and footer, then each slide's text and notes."""
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    meta = yaml.safe_load(front)
    prose = [
        (f"front matter {key}", readable(str(meta[key]))) for key in ("title", "subtitle", "footer") if key in meta
    ]
    body = FENCE.sub(" ", SHORTCODE.sub(" ", body))
    for slide in re.split(r"^(?=## )", body, flags=re.M):
        title = slide.splitlines()[0].removeprefix("## ") if slide.startswith("## ") else "before the first slide"
        prose.append((f"slide {title!r}", readable(slide)))
    return prose


@pytest.mark.parametrize("path", DECKS, ids=[path.stem for path in DECKS])
def test_every_measurement_on_a_slide_is_in_its_notebooks_outputs(path):
    """A deck (slides and speaker notes) quotes only numbers that its own notebook prints."""
    notebook = REPO_ROOT / "notebooks" / f"{path.stem}.ipynb"
    assert notebook.is_file(), (
        f"slides/{path.name} is named after no notebook: slides/NN-name.qmd for notebooks/NN-name.ipynb"
    )
    _, outputs = prose_and_outputs(path.stem)
    constants = CONSTANTS.get(path.stem, set())
    unsupported = [
        f"{where}: {quote.text!r}"
        for where, text in deck_prose(path)
        for quote in quotes(text)
        if quote.text not in constants and not any(matches(quote, shown) for shown in outputs)
    ]
    assert not unsupported, (
        f"slides/{path.name}: {len(unsupported)} numbers appear in no output of its notebook. Quote what a cell "
        f"prints, or add a number that is not a measurement to CONSTANTS:\n  " + "\n  ".join(unsupported)
    )


def test_the_deck_reader_skips_shortcodes_fences_and_settings(tmp_path):
    deck = tmp_path / "01-x.qmd"
    deck.write_text(
        '---\ntitle: "T"\nwidth: 1280\n---\n\n## First 2.5%\n\n{{< embed ../notebooks/01-x.ipynb#fig-a >}}\n\n'
        ':::: {.columns}\n::: {.column width="45%"}\nSays 3.5x.\n:::\n::::\n\n::: notes\nAnd 0.25.\n:::\n'
    )
    found = [(where, quote.text) for where, text in deck_prose(deck) for quote in quotes(text)]
    assert found == [("slide 'First 2.5%'", "2.5%"), ("slide 'First 2.5%'", "3.5x"), ("slide 'First 2.5%'", "0.25")]


def test_a_solutions_hidden_checks_are_not_prose():
    checks = 'Text 0.5.\n<!-- checks\nclaim(x > 0.25 and y > 0.75, "at least 0.9")\n-->\nMore.'
    assert [quote.text for quote in quotes(readable(checks))] == ["0.5"]
