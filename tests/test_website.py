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
Whole-page screenshots (JPEG) of each page, desktop and phone width, go to test-artifacts/website/.

Skipped, with a message, where Quarto is not installed, except in CI (`CI` set),
where `.ci/run` installs it.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
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
PAGES = ["index.html"] + [f"notebooks/{path.stem}.html" for path in notebook_paths()]

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
    else if (['auto', 'scroll', 'hidden'].includes(style.overflowX) && element.scrollWidth > element.clientWidth + 1)
      problems.push(`${name} hides ${element.scrollWidth - element.clientWidth} px behind a scroll: `
        + JSON.stringify(text));
  }
  return problems;
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
    for page in PAGES:
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
    """One page opened in a fresh browser context that records console errors and blocked requests."""

    def __init__(self, browser, site_url: str, page: str, viewport: dict):
        self.name = page
        self.context = browser.new_context(viewport=viewport)
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

    def screenshot(self, width: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # JPEG: a whole page at once, encoded in about half the time a PNG of it takes (1.7 s against 3.2 s)
        path = ARTIFACTS / f"{Path(self.name).stem}-{width}.jpg"
        self.page.screenshot(path=str(path), full_page=True, type="jpeg", quality=80)

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, site_url):
    visits = []

    def open_page(page: str, viewport: dict = DESKTOP) -> Visit:
        visits.append(Visit(browser, site_url, page, viewport))
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


def accessibility_violations(opened: Visit) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(opened.page).response["violations"]
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
        data = json.loads(explorer.locator("script.dlf-explorer-data").text_content())
        image = explorer.locator("img.dlf-explorer-frame")
        controls = explorer.locator("[data-dlf-control]").all()
        first = image.get_attribute("src")
        for control in controls:
            move(control)
            name = control.get_attribute("data-dlf-control")
            key = ",".join(c.input_value() for c in controls)
            if image.get_attribute("src") != "data:image/png;base64," + data["images"][data["frames"][key]]:
                problems.append(f"explorer {index} shows the wrong frame after moving {name!r}")
            values = control.get_attribute("data-dlf-values")
            if values:
                shown = control.locator("xpath=following-sibling::output").inner_text()
                if shown != json.loads(values)[int(control.input_value())]:
                    problems.append(f"explorer {index}: {name!r} reads {shown!r} at its new value")
        if not controls or image.get_attribute("src") == first:
            problems.append(f"explorer {index}: the picture never changed")
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
    if page != "index.html":
        problems += open_solutions(opened)
        problems += missing_onward_links(opened, site_url)
        problems += wrong_explorer_frames(opened)
    problems += [f"console error: {error}" for error in opened.errors]
    assert problems == [], f"{page} at {DESKTOP['width']} px:\n" + "\n".join(problems)


@pytest.mark.slow  # renders the website with Quarto and drives it in a browser
@pytest.mark.parametrize("page", PAGES)
def test_page_on_a_phone(visit, page):
    """At 390 px the page does not scroll sideways and nothing sticks out of its column."""
    opened = visit(page, PHONE)
    opened.screenshot("phone")
    page_width = opened.page.evaluate("() => document.documentElement.scrollWidth")
    problems = [f"the page is {page_width} px wide"] if page_width > PHONE["width"] else []
    problems += opened.page.evaluate(OVERFLOWING)
    assert problems == [], f"{page} at {PHONE['width']} px:\n" + "\n".join(problems)


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
