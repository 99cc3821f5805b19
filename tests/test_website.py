"""The website, built by Quarto and read in a real browser with no network.

`quarto render` builds the site from the checked-out tree into a temporary folder
(with no warnings); a small HTTP server serves it on 127.0.0.1 and Debian's
headless Chromium opens every page with each request to any other host blocked.
Every page must show no console error and ask nothing of another host, typeset
every formula, fit its column (and a 390 px phone without sideways scrolling),
keep every solution collapsed, link to its notebook and to the README, be found
by the site's search, and pass axe-core with no serious or critical violation.
Every notebook page's "Open in Colab" link must point at its notebook in the configured
repository (the site is rendered with an example address while `_quarto.yml` holds none),
its download link must give the page's notebook, stamped with the commit it was built from,
and its Colab badge must not reach the page; one page rendered with no address must show
no Colab link at all.
Every explorer control must move its picture to the right precomputed frame.
On a 390 px phone, in the dark theme, every page passes axe-core's colour rules too (in blocks of
code, one token of each kind), and no line of code or printed output is cut inside a word; the dark
theme, once chosen, stays from page to page.
Whole-page screenshots (JPEG) of each page, desktop (light) and phone (dark), go to test-artifacts/website/.

The lecturer's decks (slides/*.qmd, reveal.js) are part of the site: each is opened at 1280 x 720
with no request leaving 127.0.0.1 and no error. One evaluation steps through every slide: nothing
may be cut off, scroll, or lie under reveal.js's footer, arrows or slide number; explorer controls
and arrows must be large enough for a projector, figures no smaller than 0.8 of their size, and
every slide but the title must carry speaker notes. Every explorer control must move its picture
to the right frame, and the keyboard must still move between slides after a control was used.
The deck links back to its notebook page (and the page and the course map to the deck); its
print view (`?print-pdf`) lays out one page per slide, nothing cut off, and passes axe-core.
Screenshots of a slide with an explorer, one with a displayed formula and the print view go to
test-artifacts/website/ too.

Skipped, with a message, where Quarto is not installed, except in CI (`CI` set),
where `.ci/run` installs it.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml
from browser_support import stored_explorers

from helpers.core.paths import REPO_ROOT
from helpers.execute import notebook_paths

spec = importlib.util.spec_from_file_location("hosted_setup", REPO_ROOT / "website" / "hosted_setup.py")
hosted_setup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hosted_setup)
# The address the Colab links must point at: the configured one, else an example given to `quarto render`.
CONFIGURED_REPOSITORY, COURSE_REF = hosted_setup.read_config()
REPOSITORY = CONFIGURED_REPOSITORY or "https://github.com/example-owner/deep-learning-fundamentals"

ARTIFACTS = REPO_ROOT / "test-artifacts" / "website"
RENDER_TIMEOUT_S = 300
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SLIDE = {"width": 1280, "height": 720}  # a projector's 720p: the decks are made for it
PAGES = ["index.html"] + [f"notebooks/{path.stem}.html" for path in notebook_paths()]
DECK_SOURCES = sorted((REPO_ROOT / "slides").glob("[0-9][0-9]-*.qmd"))  # one per notebook, named after it
DECKS = [f"slides/{path.stem}.html" for path in DECK_SOURCES]
MIN_TARGET_PX = 40  # an explorer control or a reveal.js arrow, on the screen (WCAG's target size is 44)
MIN_FIGURE_SCALE = 0.8  # a figure on a slide is shown at no less than this share of its pixels

# Text outside code that still looks like TeX: a command, or math delimiters pandoc left as text.
UNTYPESET_TEX = r"\\[a-zA-Z]+[{_^]|\\[()[\]]|\$\$|\$[^$\s][^$]*[^$\s]\$"
VISIBLE_TEXT = """() => {
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT, {
    acceptNode: node => node.parentElement.closest('pre, code, script, style, math, .sourceCode')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.textContent);
  return parts.join('');
}"""
# Elements that stick out of their column, or hide part of their content behind a scroll bar.
OVERFLOWING = """() => {
  const problems = [];
  const main = document.querySelector('main');
  for (const element of main.querySelectorAll('*')) {
    if (element.closest('details:not([open]) > :not(summary), script, style, math, pre *')) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const column = (element.parentElement.closest('[class*="column-"]') || main).getBoundingClientRect();
    const style = getComputedStyle(element);
    const name = element.tagName.toLowerCase() + (element.className && typeof element.className === 'string'
      ? '.' + element.className.trim().split(/\\s+/).join('.') : '');
    const text = (element.textContent || '').trim().slice(0, 60);
    if (box.right > column.right + 1 || box.left < column.left - 1)
      problems.push(`${name} sticks out of its column by ${Math.round(Math.max(box.right - column.right,
        column.left - box.left))} px: ${JSON.stringify(text)}`);
    // A block of code may scroll inside its own box, where a run without a break is wider than a phone
    else if (['auto', 'scroll', 'hidden'].includes(style.overflowX) && element.scrollWidth > element.clientWidth + 1
             && !element.matches('pre, div.sourceCode'))
      problems.push(`${name} hides ${element.scrollWidth - element.clientWidth} px behind a scroll: `
        + JSON.stringify(text));
  }
  return problems;
}"""


# Lines of code and printed output that wrap inside a word (`mnist_tensors(train=Tru` / `e, limit=1000`), a
# number (`2.3e-` / `05`) or an operator (`-` / `>`). A line may break at a space, between two tokens
# (`numpy().` / `round(3)`, website/wrap_code.py) and after the hyphen of a hyphenated word (`z-` / `score`).
CUT_MID_WORD = """() => {
  const cut = (before, after) => /[\\w.]$/.test(before) && /^[\\w.]/.test(after)
    || /\\d[eE][-+]?$/.test(before) && /^\\d/.test(after) || /[-=<>!*\\/]$/.test(before) && /^[>=<*\\/]/.test(after);
  const cuts = [];
  const range = document.createRange();
  for (const block of document.querySelectorAll('main pre')) {
    if (block.closest('details:not([open])')) continue;
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, text = node.textContent;
      range.selectNodeContents(node);
      if (range.getClientRects().length < 2) continue;  // on one line (a node boundary is a token boundary)
      let lastTop = null, spaced = true;
      for (let i = 0; i < text.length; i++) {
        if (/\\s/.test(text[i])) { spaced = true; continue; }
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const top = range.getBoundingClientRect().top;
        if (lastTop !== null && top > lastTop + 1 && !spaced && cut(text.slice(0, i), text.slice(i))) {
          cuts.push(JSON.stringify(text.slice(Math.max(0, i - 15), i)) + ' / ' + JSON.stringify(text.slice(i, i + 15)));
          break;
        }
        lastTop = top;
        spaced = false;
      }
    }
  }
  return cuts;
}"""


def move(control) -> None:
    """Change one control as a reader would: pick another option, or press an arrow key on a slider."""
    if control.evaluate("element => element.tagName") == "SELECT":
        values = [o.get_attribute("value") for o in control.locator("option").all()]
        control.select_option(values[(values.index(control.input_value()) + 1) % len(values)])
    else:
        control.focus()
        at_end = control.input_value() == control.get_attribute("max")
        control.press("ArrowLeft" if at_end else "ArrowRight")


def quarto() -> str:
    quarto = shutil.which("quarto")
    if quarto is None:
        if os.environ.get("CI"):
            pytest.fail("quarto is missing; .ci/run installs it (../shared/tools/quarto/install)")
        pytest.skip("Quarto is not installed (https://quarto.org/docs/get-started/); the website is not tested")
    return quarto


def source_tree(folder: Path) -> Path:
    """The project's own files (tracked, or new and not ignored) copied into `folder`, as `quarto render` reads them.

    Quarto walks the whole project folder, virtual environment and all, whatever its
    `render:` list says (quarto-cli issue 6771): a `.venv` with PyTorch adds a walk of
    over 100 000 files, 10 s or more, to every render. The copy has none of the
    ignored folders. Its `.git` is a file that points at the repository's, so that the
    post-render step stamps the notebooks with the commit checked out here. Outside a
    git checkout the tree is rendered where it is.
    """
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
    )
    if listed.returncode != 0:
        return REPO_ROOT
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (REPO_ROOT / name).is_file():  # not a tracked file deleted in the working tree
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, folder / name)
    (folder / ".git").write_text(f"gitdir: {REPO_ROOT / '.git'}\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The website rendered by `quarto render` from the checked-out tree into a temporary folder.

    With an example repository address where `_quarto.yml` holds none, so that the Colab links are there to test.
    """
    output = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    address = [] if CONFIGURED_REPOSITORY else ["-M", f"course-repository:{REPOSITORY}"]
    result = subprocess.run(
        [quarto(), "render", "--output-dir", str(output), *address],
        cwd=source_tree(tmp_path_factory.mktemp("source")),
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"quarto render failed:\n{log}"
    assert "WARN" not in log, f"quarto render warned:\n{log}"
    print(f"quarto render: {time.perf_counter() - start:.1f} s")
    for page in PAGES + DECKS:
        assert (output / page).is_file(), f"quarto render made no {page}"
    return output


@pytest.fixture(scope="module")
def site_url(site) -> str:
    """The rendered site, served on 127.0.0.1 on a free port."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Visit:
    """One page opened in a fresh browser context that records console errors and blocked requests.

    `color_scheme` is the reader's system preference, which the site follows until the reader toggles it.
    """

    def __init__(self, browser, site_url: str, page: str, viewport: dict, color_scheme: str = "light"):
        self.name = page
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
        self.errors: list[str] = []
        self.blocked: list[str] = []
        own_host = urlsplit(site_url).netloc

        def route(request_route):
            if urlsplit(request_route.request.url).netloc == own_host:
                request_route.continue_()
            else:
                self.blocked.append(request_route.request.url)
                request_route.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(site_url + page, wait_until="load")

    def screenshot(self, width: str, **options) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # JPEG: a whole page at once, encoded in about half the time a PNG of it takes (1.7 s against 3.2 s)
        deck = "slides-" if self.name.startswith("slides/") else ""
        path = ARTIFACTS / f"{deck}{Path(self.name).stem}-{width}.jpg"
        self.page.screenshot(path=str(path), **({"full_page": True} | options), type="jpeg", quality=80)

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, site_url):
    visits = []

    def open_page(page: str, viewport: dict = DESKTOP, color_scheme: str = "light") -> Visit:
        visits.append(Visit(browser, site_url, page, viewport, color_scheme))
        return visits[-1]

    yield open_page
    for opened in visits:
        opened.close()


def untypeset_tex(opened: Visit) -> list[str]:
    text = opened.page.evaluate(VISIBLE_TEXT)
    leftover = opened.page.evaluate(f"text => text.match(new RegExp({json.dumps(UNTYPESET_TEX)}, 'g'))", text)
    problems = [f"untypeset TeX: {leftover[:5]}"] if leftover else []
    if opened.page.locator("span.math:not(:has(math))").count():
        problems.append("formulas left as text (span.math with no MathML)")
    return problems


# The rules of axe-core that a theme's colours decide; the others see the same page in either theme.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
# In a block of code or output every token of one highlighting class has the same colour on the same
# background: one of each kind (class, code or output, in a callout or not) stands for the others, which
# make up most of a page's text and most of the time axe-core takes (about 2.5 s of 3.5 s a notebook page).
MARK_CODE_SAMPLES = """() => {
  const kinds = new Set();
  for (const block of document.querySelectorAll('main pre')) {
    const where = (block.closest('.callout') ? 'callout ' : '') + (block.matches('.sourceCode') ? 'code ' : 'output ');
    for (const element of [block, ...block.querySelectorAll('*')]) {
      if (![...element.childNodes].some(node => node.nodeType === 3 && node.textContent.trim())) continue;
      const kind = where + (element.getAttribute('class') || element.tagName);
      if (!kinds.has(kind)) {
        kinds.add(kind);
        element.setAttribute('data-dlf-sample', '');
      }
    }
  }
}"""
CODE_SAMPLES = {"include": [["html"], ["[data-dlf-sample]"]], "exclude": [["main pre"]]}


def accessibility_violations(opened: Visit, rules: list[str] | None = None, context: dict | None = None) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    # preload: axe-core fetches the stylesheets again and resolves their @import against the page, not the
    # stylesheet (a deck's theme imports its font): a request for a file that does not exist, and an error
    options = {"resultTypes": ["violations"], "preload": not opened.name.startswith("slides/")}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    violations = Axe().run(opened.page, context=context, options=options).response["violations"]
    return [
        f"axe-core {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def open_solutions(opened: Visit) -> list[str]:
    solutions = opened.page.locator("main details")
    if solutions.count() == 0:
        return ["no solutions"]
    return [
        f"solution {index} is open"
        for index in range(solutions.count())
        if solutions.nth(index).get_attribute("open") is not None
        or solutions.nth(index).locator(":scope > :not(summary)").first.is_visible()
    ]


def missing_onward_links(opened: Visit, site_url: str) -> list[str]:
    """A link to download the page's notebook and one to the README, both served by the site itself."""
    problems = []
    notebook = f"{Path(opened.name).stem}.ipynb"
    for what, selector in ((f"download {notebook}", f'a[href$="{notebook}"]'), ("the README", 'a[href*="README"]')):
        links = opened.page.locator(selector)
        if links.count() == 0:
            problems.append(f"no link to {what}")
            continue
        target = links.first.evaluate("link => link.href")
        response = opened.context.request.get(target) if target.startswith(site_url) else None
        if response is None or not response.ok:
            problems.append(f"the link to {what} ({target}) does not lead to a page of the site")
        elif what.startswith("download") and json.loads(response.text()) != page_notebook(notebook):
            problems.append(f"the download link ({target}) gives another notebook than the page's")
    colab = [link.get_attribute("href") for link in opened.page.locator("a.dlf-colab").all()]
    expected = hosted_setup.colab_url(REPOSITORY, COURSE_REF, notebook)
    if colab != [expected]:
        problems.append(f"Colab links {colab}, expected one to {expected}")
    if opened.page.locator('img[src*="colab-badge"]').count():
        problems.append("the notebook's Colab badge shows on the page (its link above says the same)")
    deck = f"slides/{Path(opened.name).stem}.html"
    slides = [link.evaluate("link => link.href") for link in opened.page.locator("a.dlf-slides").all()]
    if slides != ([site_url + deck] if deck in DECKS else []):
        problems.append(
            f"'Slides for this notebook' links {slides}; the site's deck of this notebook: "
            f"{deck if deck in DECKS else 'none'}"
        )
    elif slides and not opened.context.request.get(slides[0]).ok:
        problems.append(f"the link to the slides ({slides[0]}) does not lead to a page of the site")
    return problems


def page_notebook(name: str) -> dict:
    """The notebook as the site offers it for download: the set-up cell pinned to the commit the site was built from."""
    source = (REPO_ROOT / "notebooks" / name).read_text(encoding="utf-8")
    commit = hosted_setup.built_commit(REPO_ROOT)
    return json.loads(hosted_setup.stamp(source, commit) if commit else source)


def wrong_explorer_frames(opened: Visit) -> list[str]:
    """Move every control of every explorer; the picture must show the frame stored for the new values."""
    explorers = opened.page.locator("div.dlf-explorer").all()
    stored = len(stored_explorers(REPO_ROOT / "notebooks" / f"{Path(opened.name).stem}.ipynb"))
    problems = [] if len(explorers) == stored else [f"shows {len(explorers)} explorers; the notebook stores {stored}"]
    for index, explorer in enumerate(explorers):
        explorer.scroll_into_view_if_needed()
        problems += wrong_frames(explorer, f"explorer {index}")
    return problems


def wrong_frames(explorer, name: str) -> list[str]:
    """Move each control of one explorer in turn; the picture must show the frame stored for the new values."""
    problems = []
    data = json.loads(explorer.locator("script.dlf-explorer-data").text_content())
    image = explorer.locator("img.dlf-explorer-frame")
    controls = explorer.locator("[data-dlf-control]").all()
    first = image.get_attribute("src")
    for control in controls:
        move(control)
        problems += wrong_frame(explorer, data, control, name)
    if not controls or image.get_attribute("src") == first:
        problems.append(f"{name}: the picture never changed")
    return problems


def wrong_frame(explorer, data: dict, control, name: str) -> list[str]:
    """The picture and the moved control's readout must be those stored for the controls' present values."""
    problems = []
    label = control.get_attribute("data-dlf-control")
    key = ",".join(c.input_value() for c in explorer.locator("[data-dlf-control]").all())
    if explorer.locator("img.dlf-explorer-frame").get_attribute("src") != (
        "data:image/png;base64," + data["images"][data["frames"][key]]
    ):
        problems.append(f"{name} shows the wrong frame after moving {label!r}")
    values = control.get_attribute("data-dlf-values")
    if values:
        shown = control.locator("xpath=following-sibling::output").inner_text()
        if shown != json.loads(values)[int(control.input_value())]:
            problems.append(f"{name}: {label!r} reads {shown!r} at its new value")
    return problems


@pytest.mark.slow  # renders the website with Quarto and drives it in a browser
@pytest.mark.parametrize("page", PAGES)
def test_page_on_a_desktop(visit, site_url, page):
    """Self-contained, error-free, typeset, within its column, accessible; explorers, solutions, links."""
    opened = visit(page)
    opened.screenshot("desktop")
    problems = [f"asks another host for {url}" for url in opened.blocked]
    problems += untypeset_tex(opened)
    problems += opened.page.evaluate(OVERFLOWING)
    problems += accessibility_violations(opened)
    if page == "index.html":
        problems += unlinked_decks(opened, site_url)
    else:
        problems += open_solutions(opened)
        problems += missing_onward_links(opened, site_url)
        problems += wrong_explorer_frames(opened)
    problems += [f"console error: {error}" for error in opened.errors]
    assert problems == [], f"{page} at {DESKTOP['width']} px:\n" + "\n".join(problems)


@pytest.mark.slow  # renders the website with Quarto and drives it in a browser
@pytest.mark.parametrize("page", PAGES)
def test_page_on_a_phone_in_the_dark_theme(visit, page):
    """At 390 px, for a reader whose system asks for dark pages: the dark theme, in colours that axe-core
    passes (in code, one token of each kind); the page does not scroll sideways, nothing sticks out of its
    column, and no line of code is cut inside a word."""
    opened = visit(page, PHONE, color_scheme="dark")
    opened.screenshot("phone-dark")
    page_width = opened.page.evaluate("() => document.documentElement.scrollWidth")
    problems = [f"the page is {page_width} px wide"] if page_width > PHONE["width"] else []
    if opened.page.locator("body.quarto-dark").count() != 1:
        problems.append("the page is not in the dark theme")
    problems += opened.page.evaluate(OVERFLOWING)
    problems += [f"code cut inside a word: {cut}" for cut in opened.page.evaluate(CUT_MID_WORD)]
    opened.page.evaluate(MARK_CODE_SAMPLES)  # every rule on every element: test_page_on_a_desktop
    problems += accessibility_violations(opened, COLOUR_RULES, CODE_SAMPLES)
    problems += [f"console error: {error}" for error in opened.errors]
    assert problems == [], f"{page} at {PHONE['width']} px, dark theme:\n" + "\n".join(problems)


@pytest.mark.slow  # renders the website with Quarto and drives it in a browser
def test_the_chosen_theme_is_kept_from_page_to_page(visit, site_url):
    opened = visit("index.html")
    assert opened.page.locator("body.quarto-light").count() == 1, "a light system preference: the light theme"
    opened.page.locator(".quarto-color-scheme-toggle").first.click()
    assert opened.page.locator("body.quarto-dark").count() == 1, "the toggle did not switch to the dark theme"
    opened.page.goto(f"{site_url}README.html", wait_until="load")
    assert opened.page.locator("body.quarto-dark").count() == 1, "the next page forgot the dark theme"
    opened.page.locator(".quarto-color-scheme-toggle").first.click()
    opened.page.goto(site_url + "index.html", wait_until="load")
    assert opened.page.locator("body.quarto-light").count() == 1, "the next page forgot the light theme"
    assert opened.errors == []


def unlinked_decks(opened: Visit, site_url: str) -> list[str]:
    """The course map links every deck of the site."""
    linked = {link.evaluate("link => link.href") for link in opened.page.locator("main a").all()}
    return [f"the course map does not link {deck}" for deck in DECKS if site_url + deck not in linked]


# One evaluation that steps through every slide of a deck at the browser's size (1280 x 720) and
# returns what does not fit, with the number of slides and the first slide with an explorer and
# with a displayed formula (for the screenshots).
SLIDE_CHECKS = """async ([minTarget, minScale]) => {
  const problems = [];
  const area = () => document.querySelector('.reveal .slides').getBoundingClientRect();
  const describe = element => element.tagName.toLowerCase() + (typeof element.className === 'string'
    && element.className.trim() ? '.' + element.className.trim().split(/\\s+/).join('.') : '');
  const text = element => JSON.stringify((element.textContent || element.getAttribute('alt') || '').trim().slice(0, 50));
  const shown = element => {
    const style = getComputedStyle(element), box = element.getBoundingClientRect();
    return style.visibility !== 'hidden' && style.opacity !== '0' && box.width > 0 && box.height > 0;
  };
  const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const chrome = {'footer': '.reveal .footer a', 'arrow': '.reveal .controls button', 'slide number': '.reveal .slide-number',
                  'menu button': '.reveal .slide-menu-button'};
  const slides = Reveal.getSlides();
  let explorerSlide = null, mathSlide = null;
  for (const [number, slide] of slides.entries()) {
    const indices = Reveal.getIndices(slide);
    Reveal.slide(indices.h, indices.v);
    const images = [...slide.querySelectorAll('img')];
    await Promise.all(images.map(image => image.complete ? null
      : new Promise(done => { image.addEventListener('load', done); image.addEventListener('error', done); })));
    await new Promise(done => requestAnimationFrame(() => done()));
    const where = `slide ${number + 1} ${text(slide.querySelector('h1, h2') || slide)}`;
    const box = area();
    const taken = Object.entries(chrome).flatMap(([name, selector]) =>
      [...document.querySelectorAll(selector)].filter(shown).map(element => [name, element.getBoundingClientRect()]));
    const reported = [];
    for (const element of slide.querySelectorAll('*')) {
      if (element.closest('aside.notes, script, style, figcaption, .cell-output-stdout')) continue;
      if (element.closest('math') && element.tagName.toLowerCase() !== 'math') continue;
      if (!shown(element) || reported.some(outer => outer.contains(element))) continue;
      const rect = element.getBoundingClientRect(), style = getComputedStyle(element);
      let problem = null;
      if (rect.left < box.left - 1 || rect.right > box.right + 1 || rect.top < box.top - 1 || rect.bottom > box.bottom + 1)
        problem = `is cut off at the slide's edge`;
      else if (['auto', 'scroll', 'hidden'].includes(style.overflowY) && element.scrollHeight > element.clientHeight + 1
               || ['auto', 'scroll', 'hidden'].includes(style.overflowX) && element.scrollWidth > element.clientWidth + 1)
        problem = 'hides part of itself behind a scroll bar';
      else {
        const under = taken.find(([name, rectangle]) => overlap(rect, rectangle));
        if (under) problem = `lies under reveal.js's ${under[0]}`;
      }
      if (problem) {
        problems.push(`${where}: ${describe(element)} ${problem}: ${text(element)}`);
        reported.push(element);
      }
    }
    for (const control of slide.querySelectorAll('.dlf-explorer [data-dlf-control]')) {
      const rect = control.getBoundingClientRect();
      if (Math.min(rect.width, rect.height) < minTarget)
        problems.push(`${where}: the control ${control.dataset.dlfControl} is ${Math.round(rect.width)} x `
          + `${Math.round(rect.height)} px, too small to use on a projector`);
    }
    for (const image of slide.querySelectorAll('.quarto-embed-nb-cell img')) {
      const scale = image.getBoundingClientRect().width / image.naturalWidth;
      if (!(scale >= minScale))
        problems.push(`${where}: a figure is shown at ${scale.toFixed(2)} of its size, too small to read: ${text(image)}`);
    }
    if (number === 1)
      for (const arrow of document.querySelectorAll('.reveal .controls button.enabled, .reveal .slide-menu-button a')) {
        const rect = arrow.getBoundingClientRect();
        if (Math.min(rect.width, rect.height) < minTarget)
          problems.push(`reveal.js's ${describe(arrow)} is ${Math.round(rect.width)} x ${Math.round(rect.height)} px, `
            + 'too small to use on a projector');
      }
    if (number > 0 && !slide.querySelector('aside.notes')) problems.push(`${where} has no speaker notes`);
    if (explorerSlide === null && slide.querySelector('.dlf-explorer')) explorerSlide = number;
    if (mathSlide === null && slide.querySelector('math[display="block"]')) mathSlide = number;
  }
  Reveal.slide(0, 0);
  return {problems, slides: slides.length, explorerSlide, mathSlide};
}"""

# The print view (`?print-pdf`): reveal.js lays out every slide as a page, one after the other.
PRINT_CHECKS = """async () => {
  await Promise.all([...document.images].map(image => image.complete ? null
    : new Promise(done => { image.addEventListener('load', done); image.addEventListener('error', done); })));
  const problems = [];
  const pages = [...document.querySelectorAll('.reveal .pdf-page')];
  pages.forEach((page, number) => {
    const box = page.getBoundingClientRect();
    for (const element of page.querySelectorAll('section *')) {
      if (element.closest('aside.notes, script, style, figcaption, .cell-output-stdout, math *')) continue;
      const rect = element.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0 || getComputedStyle(element).visibility === 'hidden') continue;
      if (rect.left < box.left - 1 || rect.right > box.right + 1 || rect.top < box.top - 1 || rect.bottom > box.bottom + 1) {
        problems.push(`page ${number + 1}: ${element.tagName.toLowerCase()} is cut off at the page's edge`);
        break;
      }
    }
  });
  return {problems, pages: pages.map(page => page.getBoundingClientRect()).map(r => [r.top, r.height])};
}"""


def go_to_slide_of(page, element) -> int:
    """Show the slide that holds `element`; its horizontal index."""
    return page.evaluate(
        "element => { const at = Reveal.getIndices(element.closest('section')); Reveal.slide(at.h, at.v); return at.h; }",
        element.element_handle(),
    )


def explorer_embeds(source: Path) -> int:
    """How many explorers a deck embeds from its notebook (`{{< embed ...#fig-label >}}` of an explorer's cell)."""
    labels = re.findall(r"\{\{<\s*embed\s+\S+?\.ipynb#([\w-]+)\s*>\}\}", source.read_text(encoding="utf-8"))
    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{source.stem}.ipynb", as_version=4)
    explorers = {
        label
        for cell in notebook.cells
        if cell.cell_type == "code"
        for label in re.findall(r"^#\| label: ([\w-]+)", cell.source, re.M)
        if any("dlf-explorer-data" in output.get("data", {}).get("text/html", "") for output in cell.get("outputs", []))
    }
    return sum(label in explorers for label in labels)


def keys_after_controls(opened: Visit, explorer, name: str) -> list[str]:
    """Use each control as a lecturer would, then the keyboard: keys on a focused control move the control
    (PageDown, a presenter's remote, still changes the slide); after a change with the mouse the arrow
    keys move between slides again. The picture must show the stored frame after every change."""
    page, problems = opened.page, []
    data = json.loads(explorer.locator("script.dlf-explorer-data").text_content())
    slide = go_to_slide_of(page, explorer)
    image = explorer.locator("img.dlf-explorer-frame")
    pictures = {image.get_attribute("src")}
    if slide + 1 >= page.evaluate("() => Reveal.getHorizontalSlides().length"):
        return [f"{name} is on the last slide: put it before the end so the keys can be tested"]

    def at() -> int:
        return page.evaluate("() => Reveal.getIndices().h")

    for control in explorer.locator("[data-dlf-control]").all():
        label = f"{name}, control {control.get_attribute('data-dlf-control')!r}"
        is_menu = control.evaluate("element => element.tagName") == "SELECT"
        # A key pressed on the focused control: the control moves, the slide stays.
        before = control.input_value()
        if is_menu:
            options = control.locator("option").count()
            key = "ArrowUp" if int(control.evaluate("element => element.selectedIndex")) == options - 1 else "ArrowDown"
        else:
            key = "ArrowLeft" if before == control.get_attribute("max") else "ArrowRight"
        control.press(key)
        if control.input_value() == before:
            problems.append(f"{label}: {key} on the focused control did not move it")
        if at() != slide:
            problems.append(f"{label}: {key} on the focused control also changed the slide")
        problems += wrong_frame(explorer, data, control, name)
        pictures.add(image.get_attribute("src"))
        page.keyboard.press("PageDown")
        if at() != slide + 1:
            problems.append(f"{label}: PageDown on the focused control did not move to the next slide")
        page.evaluate(f"() => Reveal.slide({slide})")
        # A change with the mouse (a pick from the menu, a click on the slider): the keys go back to the slides.
        if is_menu:
            control.focus()
            values = [option.get_attribute("value") for option in control.locator("option").all()]
            control.select_option(values[(values.index(control.input_value()) + 1) % len(values)])
        else:
            box = control.bounding_box()
            left = int(control.input_value()) > int(control.get_attribute("max")) / 2
            page.mouse.click(box["x"] + box["width"] * (0.05 if left else 0.95), box["y"] + box["height"] / 2)
        problems += wrong_frame(explorer, data, control, name)
        value = control.input_value()
        page.keyboard.press("ArrowRight")
        if at() != slide + 1 or control.input_value() != value:
            problems.append(f"{label}: after a change with the mouse, ArrowRight did not move to the next slide")
        page.evaluate(f"() => Reveal.slide({slide})")
    if len(pictures) < 2:
        problems.append(f"{name}: the picture never changed")
    return problems


@pytest.mark.slow  # renders the website with Quarto and drives it in a browser
@pytest.mark.parametrize("deck", DECKS)
def test_deck_at_1280_by_720(visit, site_url, deck):
    """Self-contained and error-free; every slide fits; explorers and the keyboard work; linked back to its
    notebook page; the print view lays out every slide and is accessible."""
    source = REPO_ROOT / "slides" / f"{Path(deck).stem}.qmd"
    opened = visit(deck, SLIDE)
    opened.page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    report = opened.page.evaluate(SLIDE_CHECKS, [MIN_TARGET_PX, MIN_FIGURE_SCALE])
    problems = list(report["problems"])
    if not 10 <= report["slides"] <= 20:
        problems.append(f"{report['slides']} slides; a deck tells its notebook in about 10 to 20")
    for slide, what in ((report["explorerSlide"], "explorer"), (report["mathSlide"], "maths")):
        if slide is not None:
            opened.page.evaluate(f"() => Reveal.slide({slide})")
            opened.screenshot(what, full_page=False)
    explorers = opened.page.locator("div.dlf-explorer").all()
    expected = explorer_embeds(source)
    if len(explorers) != expected:
        problems.append(f"shows {len(explorers)} explorers; the deck embeds {expected}")
    for index, explorer in enumerate(explorers):
        problems += keys_after_controls(opened, explorer, f"explorer {index}")
    notebook_page = f"{site_url}notebooks/{source.stem}.html"
    back = [link.evaluate("link => link.href") for link in opened.page.locator(".reveal .footer a").all()]
    if notebook_page not in back:
        problems.append(f"the footer links {back}, not the notebook's page {notebook_page}")
    elif not opened.context.request.get(notebook_page).ok:
        problems.append(f"the link back ({notebook_page}) does not lead to a page of the site")
    html = opened.context.request.get(site_url + deck).text()
    problems += [
        f"loads a script from another host: {src}" for src in re.findall(r'<script[^>]+src="(https?://[^"]+)', html)
    ]
    problems += [f"asks another host for {url}" for url in opened.blocked]
    problems += [f"console error: {error}" for error in opened.errors]
    opened.blocked.clear()

    # The print view in the same tab: the deck's scripts, styles and figures come from the browser's cache
    errors = len(opened.errors)
    opened.page.goto(f"{site_url}{deck}?print-pdf", wait_until="load")
    opened.page.wait_for_function("() => document.querySelectorAll('.reveal .pdf-page').length > 0")
    layout = opened.page.evaluate(PRINT_CHECKS)
    if len(layout["pages"]) != report["slides"]:
        problems.append(f"the print view lays out {len(layout['pages'])} pages for {report['slides']} slides")
    problems += [f"print view: {problem}" for problem in layout["problems"]]
    if layout["pages"]:
        top, height = layout["pages"][report["explorerSlide"] or 0]
        opened.screenshot("print", clip={"x": 0, "y": top, "width": SLIDE["width"], "height": 2 * height})
    problems += [f"print view: {violation}" for violation in accessibility_violations(opened)]
    problems += [f"print view: console error: {error}" for error in opened.errors[errors:]]
    problems += [f"print view: asks another host for {url}" for url in opened.blocked]
    assert problems == [], f"{deck} at {SLIDE['width']} x {SLIDE['height']}:\n" + "\n".join(problems)


def notebook_title(path: Path) -> str:
    front_matter = nbformat.read(path, as_version=4).cells[0].source.strip().strip("-")
    return yaml.safe_load(front_matter)["title"]


@pytest.mark.slow  # renders the website with Quarto and drives it in a browser
def test_search_finds_each_page_by_its_title(visit):
    opened = visit("index.html")
    titles = {f"notebooks/{path.stem}.html": notebook_title(path) for path in notebook_paths()}
    box = None
    for page, title in titles.items():
        if box is None:
            opened.page.locator("#quarto-search .aa-DetachedSearchButton, #quarto-search input").first.click()
            box = opened.page.locator("input.aa-Input")
        box.fill(title)
        hit = opened.page.locator(f'.aa-Item a[href*="{Path(page).name}"]').first
        hit.wait_for(timeout=10_000)
    assert opened.errors == []


def load_post_render_step():
    spec = importlib.util.spec_from_file_location(
        "strip_widget_loader", REPO_ROOT / "website" / "strip_widget_loader.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOADER_TAGS = (
    '<script src="https://cdn.jsdelivr.net/npm/jquery@3.5.1/dist/jquery.min.js" integrity="x" '
    'crossorigin="anonymous"></script>',
    '<script src="https://cdn.jsdelivr.net/npm/requirejs@2.3.6/require.min.js" integrity="y" '
    'crossorigin="anonymous"></script>',
    "<script type=\"application/javascript\">define('jquery', [],function() {return window.jQuery;})</script>",
)


def test_post_render_step_drops_the_widget_loader_only_where_no_widget_needs_it(tmp_path):
    strip = load_post_render_step().strip
    page = tmp_path / "page.html"
    page.write_text(f"<head>{LOADER_TAGS[0]}<meta>\n{LOADER_TAGS[1]}\n{LOADER_TAGS[2]}\n</head><body>x</body>")
    assert strip(page) and page.read_text() == "<head><meta>\n</head><body>x</body>"
    with_widget = f"<head>{''.join(LOADER_TAGS)}</head><script type=application/vnd.jupyter.widget-view+json>"
    page.write_text(with_widget)
    assert not strip(page) and page.read_text() == with_widget
    page.write_text(f"<head>{LOADER_TAGS[1]}</head>")  # a changed Quarto: stop rather than half-strip
    with pytest.raises(SystemExit, match="1 of the 3 tags"):
        strip(page)


def load_website_step(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "website" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_post_render_step_lets_code_wrap_between_tokens_only(tmp_path):
    wrap = load_website_step("wrap_code").wrap
    page = tmp_path / "page.html"
    code = (
        '<pre class="sourceCode python"><code class="sourceCode python"><span id="cb1-1">z.detach().numpy().'
        '<span class="bu">round</span>(<span class="dv">3</span>), x[0], 0.5, <span class="fl">1e-5</span>, '
        '<span class="st">"-&gt; a.b"</span></span></code></pre>'
    )
    page.write_text(f"<p>x.y(z)</p>{code}<pre><code>loss 2.3e-05 -&gt; f(x) a.b</code></pre>")
    assert wrap(page)
    once = page.read_text()
    assert once == (
        '<p>x.y(z)</p><pre class="sourceCode python"><code class="sourceCode python"><span id="cb1-1">'
        "z.<wbr>detach().<wbr>numpy().<wbr>"
        '<span class="bu">round</span>(<wbr><span class="dv">3</span>), x[<wbr>0], 0.5, <span class="fl">'
        '<span class="dlf-nowrap">1e-5</span></span>, <span class="st">"<span class="dlf-nowrap">-&gt;</span> '
        'a.b"</span></span></code></pre>'
        '<pre><code>loss <span class="dlf-nowrap">2.3e-05</span> <span class="dlf-nowrap">-&gt;</span> f(x) a.b</code></pre>'
    )
    wrap(page)
    assert page.read_text() == once, "a second run changes nothing"


def site_filters() -> list:
    """The Lua filters of `_quarto.yml`, with their paths made absolute."""
    filters = yaml.safe_load((REPO_ROOT / "_quarto.yml").read_text(encoding="utf-8"))["format"]["html"]["filters"]
    return [{**f, "path": str(REPO_ROOT / f["path"])} if isinstance(f, dict) else str(REPO_ROOT / f) for f in filters]


@pytest.mark.slow  # renders one small notebook with Quarto
def test_with_no_repository_address_a_page_shows_no_colab_link_and_no_badge(tmp_path):
    if CONFIGURED_REPOSITORY:
        pytest.skip(f"_quarto.yml names {CONFIGURED_REPOSITORY}; the site test checks its links")
    # A small notebook in a project of its own, with the site's filters and no address: a few seconds to
    # render, where a second render of the site would take a minute
    page = "notebooks/01-network-families.ipynb"
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_raw_cell("---\ntitle: A page\n---"), nbformat.v4.new_markdown_cell("Some text.")]
    )
    nbformat.write(notebook, tmp_path / page)
    config = {
        "project": {"type": "default"},
        "course-repository": "",
        "course-ref": COURSE_REF,
        "execute": {"enabled": False},
        "format": {"html": {"filters": site_filters()}},
    }
    (tmp_path / "_quarto.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run([quarto(), "render", page], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    html = (tmp_path / page).with_suffix(".html").read_text(encoding="utf-8")
    assert "Download this notebook" in html
    assert "dlf-colab" not in html and "colab-badge" not in html
