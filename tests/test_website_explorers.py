"""The explorers work on an exported page with no kernel and no network, in a real browser.

Each executed notebook that holds an explorer is exported to HTML with nbconvert
(a stand-in for Quarto, which renders the same stored outputs) and opened in
Debian's headless Chromium with the network cut. For every explorer, each control
is moved and the picture must change, with no script error and no widget error.
"""

import json

import nbformat
import pytest
from browser_support import notebooks_with_explorers
from nbconvert import HTMLExporter

from helpers.core.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # renders the website in a browser

ARTIFACTS = REPO_ROOT / "test-artifacts" / "website"


def move(control) -> None:
    """Change one control as a reader would: pick another option, or press an arrow key on a slider."""
    if control.evaluate("element => element.tagName") == "SELECT":
        values = [o.get_attribute("value") for o in control.locator("option").all()]
        control.select_option(values[(values.index(control.input_value()) + 1) % len(values)])
    else:
        control.focus()
        at_end = control.input_value() == control.get_attribute("max")
        control.press("ArrowLeft" if at_end else "ArrowRight")


def test_some_notebook_has_an_explorer():
    assert notebooks_with_explorers()


@pytest.mark.parametrize("path", notebooks_with_explorers(), ids=lambda p: p.name)
def test_explorer_controls_change_the_picture_offline(path, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(path, as_version=4))
    page_file = ARTIFACTS / f"{path.stem}.html"
    page_file.write_text(html)

    context = browser.new_context(offline=True)
    context.route("http*://**", lambda route: route.abort())  # nothing leaves the machine
    page = context.new_page()
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        explorers = page.locator("div.dlf-explorer")
        assert explorers.count() >= 1
        for index in range(explorers.count()):
            explorer = explorers.nth(index)
            explorer.scroll_into_view_if_needed()
            data = json.loads(explorer.locator("script.dlf-explorer-data").text_content())
            image = explorer.locator("img.dlf-explorer-frame")
            controls = [
                explorer.locator("[data-dlf-control]").nth(i)
                for i in range(explorer.locator("[data-dlf-control]").count())
            ]
            assert controls and image.is_visible()
            first = image.get_attribute("src")
            for control in controls:
                move(control)
                key = ",".join(c.input_value() for c in controls)
                expected = "data:image/png;base64," + data["images"][data["frames"][key]]
                assert image.get_attribute("src") == expected, (
                    f"explorer {index} in {path.name} shows the wrong frame after moving "
                    f"{control.get_attribute('data-dlf-control')!r}"
                )
            assert image.get_attribute("src") != first, f"explorer {index} in {path.name}: the picture never changed"
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}.png"), full_page=False)
        assert "Error displaying widget" not in page.content()
        assert script_errors == []
    finally:
        context.close()
