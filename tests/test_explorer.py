import base64
import io
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from helpers.core.explorer import MAX_FRAMES, explore, figure_pixels


def draw_line(slope: float, colour: str):
    figure, axis = plt.subplots(figsize=(3, 2))
    axis.plot([0, 1], [0, slope], color=colour)
    axis.set_ylim(-3, 3)
    return figure


CONTROLS = {"slope": [-2.0, 0.0, 2.0], "colour": ["red", "blue"]}


def test_frames_are_pngs_that_depend_on_parameters():
    explorer = explore(draw_line, CONTROLS)
    red = explorer.frame(slope=2.0, colour="red")
    assert Image.open(io.BytesIO(red)).format == "PNG"
    assert red != explorer.frame(slope=2.0, colour="blue")
    assert red != explorer.frame(slope=0.0, colour="red")
    assert explorer.frame() == explorer.frame(slope=-2.0, colour="red")  # defaults: first values


def test_frames_close_their_figures():
    explorer = explore(draw_line, CONTROLS)
    before = len(plt.get_fignums())
    explorer.frame(slope=0.0)
    assert len(plt.get_fignums()) == before


def labelled_bars(title: str) -> Figure:
    """A constrained-layout figure with text, ticks and a legend: what the layout pass has to measure."""
    figure = Figure(figsize=(3, 2), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.bar(["a", "b", "c"], [1.0, -2.0, 0.5], label="bars")
    left.legend()
    right.plot([0, 1, 2], [0.001, 100, 3], "o-")
    right.set(yscale="log", title=title, xlabel="step")
    return figure


def test_frame_pixels_are_those_savefig_writes_and_the_figure_keeps_its_canvas_and_dpi():
    figure = labelled_bars("a long title that the layout must fit")
    canvas, dpi = figure.canvas, figure.dpi
    pixels = figure_pixels(figure, 80)
    assert figure.canvas is canvas and figure.dpi == dpi
    saved = io.BytesIO()
    labelled_bars("a long title that the layout must fit").savefig(saved, format="png", dpi=80)
    assert np.array_equal(pixels, np.asarray(Image.open(saved).convert("RGB")))


def test_frames_are_the_same_bytes_every_time():
    def draw(title):
        return labelled_bars(title)

    first = explore(draw, {"title": ["x"]}).static_html()
    assert static_parts(explore(draw, {"title": ["x"]}).static_html()) == static_parts(first)


def test_two_explorers_with_the_same_frames_get_ids_of_their_own():
    def draw(title):
        return labelled_bars(title)

    pages = [explore(draw, {"title": ["x", "y"]}).static_html() for _ in range(2)]
    ids = [re.search(r'<div class="dlf-explorer" id="([^"]+)">', page).group(1) for page in pages]
    assert ids[0] != ids[1]
    for page, uid in zip(pages, ids):  # each script and style finds its own explorer
        assert f'document.getElementById("{uid}")' in page and f"#{uid} output" in page


def test_live_widget_redraws_when_a_control_moves():
    import ipywidgets as widgets

    panel = explore(draw_line, CONTROLS, defaults={"slope": 0.0}).widget()
    controls, image, error = panel.children
    slider, dropdown = controls.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(dropdown, widgets.Dropdown)
    first = image.value
    slider.value = 2
    assert image.value != first
    dropdown.value = 1
    assert image.value not in (first,) and error.value == ""


def static_parts(html: str):
    data = json.loads(
        re.search(r'<script type="application/json" class="dlf-explorer-data">(.*?)</script>', html, re.S).group(1)
    )
    first = re.search(r'<img class="dlf-explorer-frame" alt="[^"]*" src="data:image/png;base64,([^"]+)"', html).group(1)
    return data, first


def test_static_html_holds_every_combination_and_starts_at_the_default():
    explorer = explore(draw_line, CONTROLS, defaults={"slope": 0.0, "colour": "blue"})
    data, first = static_parts(explorer.static_html())
    assert sorted(data["frames"]) == ["0,0", "0,1", "1,0", "1,1", "2,0", "2,1"]
    assert len(data["images"]) == 6
    assert base64.b64decode(first) == explorer.frame(slope=0.0, colour="blue")
    assert data["images"][data["frames"]["2,0"]] == base64.b64encode(explorer.frame(slope=2.0, colour="red")).decode()
    assert '<input type="range" min="0" max="2" step="1" value="1" data-dlf-control="slope"' in data["controls"]
    assert '<option value="1" selected>blue</option>' in data["controls"]


def test_without_its_script_a_stored_explorer_shows_the_default_picture_and_says_to_run_the_cell():
    explorer = explore(draw_line, CONTROLS, defaults={"slope": 2.0, "colour": "blue"}, labels={"slope": "Slope"})
    untrusted = re.sub(r"<script.*?</script>", "", explorer.static_html(), flags=re.S)  # as JupyterLab shows it
    assert not re.search(r"<(select|input|option)\b", untrusted), "a control that cannot work is shown"
    picture = re.search(r'<img class="dlf-explorer-frame" [^>]*src="data:image/png;base64,([^"]+)"', untrusted)
    assert base64.b64decode(picture.group(1)) == explorer.frame(slope=2.0, colour="blue")
    assert "Showing Slope = 2, colour = blue. Run this cell to explore other values." in untrusted


def failing_draw(slope: float, colour: str):
    if slope > 0:
        raise ValueError("slopes above zero are not drawn")
    return draw_line(slope, colour)


def test_a_live_drawing_error_is_shown_under_the_controls_without_a_stale_picture():
    panel = explore(failing_draw, CONTROLS).widget()
    controls, image, error = panel.children
    slider = controls.children[0]
    first = image.value
    slider.value = 2  # slope 2.0: the drawing fails
    assert image.layout.display == "none"
    assert "Could not draw these values: ValueError: slopes above zero are not drawn" in error.value
    slider.value = 1  # slope 0.0 draws again
    assert image.layout.display is None and error.value == ""
    assert image.value != first and image.value == explore(draw_line, CONTROLS).frame(slope=0.0)


def test_key_draws_equivalent_combinations_once():
    calls = []

    def draw(slope, colour):
        calls.append((slope, colour))
        return draw_line(slope, "black")

    explorer = explore(draw, CONTROLS, key=lambda slope, colour: slope)
    data, _ = static_parts(explorer.static_html())
    assert len(calls) == 3 and len(data["images"]) == 3
    assert data["frames"]["1,0"] == data["frames"]["1,1"]


def test_display_is_static_when_headless(monkeypatch):
    explorer = explore(draw_line, CONTROLS)
    monkeypatch.setenv("DLF_HEADLESS", "1")
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and "dlf-explorer" in bundle["text/html"]
    monkeypatch.delenv("DLF_HEADLESS")
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


def test_too_many_frames_rejected_with_advice():
    explorer = explore(draw_line, {"slope": list(range(MAX_FRAMES + 1))})
    with pytest.raises(ValueError, match=rf"{MAX_FRAMES + 1} frames .* Offer fewer values per control"):
        explorer.static_html()


@pytest.mark.parametrize(
    "controls, kwargs, message",
    [
        ({}, {}, "non-empty dict"),
        ({"slope": []}, {}, "control 'slope' has no values"),
        ({"slope": "abc"}, {}, "needs a list of values"),
        ({"slope": [1.0, 1.0]}, {}, "repeated values"),
        ({"slope": [1.0]}, {"defaults": {"slope": 5.0}}, r"default 5.0 for 'slope' is not one of its values"),
        ({"slope": [1.0]}, {"defaults": {"speed": 1.0}}, r"not controls: \['speed'\]"),
    ],
)
def test_bad_controls_rejected(controls, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        explore(draw_line, controls, **kwargs)


def test_bad_frame_request_rejected():
    explorer = explore(draw_line, CONTROLS)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['angle'\]"):
        explorer.frame(angle=1)
    with pytest.raises(ValueError, match="5.0 is not a value of control 'slope'"):
        explorer.frame(slope=5.0)


def test_draw_must_return_a_figure():
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        explore(lambda slope: 42, {"slope": [1.0]}).frame()
    with pytest.raises(TypeError, match="draw must be a function"):
        explore("not callable", {"slope": [1.0]})
