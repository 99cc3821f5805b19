"""Explorers: one call turns a plotting function and its parameter values into an interactive figure.

In JupyterLab the explorer is a live ipywidgets panel: moving a control redraws
the figure in the kernel. When a notebook is executed headless for the website
(`DLF_HEADLESS=1`, set by `python -m helpers.execute` and by the test suite),
every combination of control values is drawn once and stored in the output as
a small self-contained HTML page: plain `<input>`/`<select>` controls and a few
lines of JavaScript swap between precomputed frames, so the reader can still
explore with no kernel and no network. The controls are put in place by that
script: where it does not run (JupyterLab strips scripts from a notebook that
has not been run), the default picture is shown with the values it was drawn
for and a note to run the cell, never a control that does not work.

Live, a drawing that fails for some control values shows its error under the
controls, in place of the picture, until the controls are moved to values
that draw.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

HEADLESS_ENV_VAR = "DLF_HEADLESS"
MAX_FRAMES = 400
# Numbers the stored explorers of a process, so that two with the same frames get different element ids; a notebook
# executed afresh numbers its explorers the same way again, so its stored output does not change.
_stored = itertools.count(1)


def headless() -> bool:
    """True when notebooks are being executed for storage (no live widget front end)."""
    return os.environ.get(HEADLESS_ENV_VAR) == "1"


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Control:
    """One control: its parameter name, label, the values it offers and the default's index."""

    name: str
    label: str
    values: tuple
    default: int

    @property
    def is_choice(self) -> bool:
        """A drop-down (for names) rather than a slider (for numbers)."""
        return any(isinstance(value, (str, bool)) for value in self.values)


def _make_controls(controls, defaults, labels) -> tuple[Control, ...]:
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError("controls must be a non-empty dict mapping parameter names to lists of values")
    unknown = set(defaults) - set(controls)
    if unknown:
        raise ValueError(f"defaults names parameters that are not controls: {sorted(unknown)}")
    made = []
    for name, values in controls.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
            raise TypeError(f"control {name!r} needs a list of values, got {values!r}")
        values = tuple(values)
        if not values:
            raise ValueError(f"control {name!r} has no values")
        if len(set(map(_format_value, values))) != len(values):
            raise ValueError(f"control {name!r} has repeated values: {values}")
        default = defaults.get(name, values[0])
        if default not in values:
            raise ValueError(f"default {default!r} for {name!r} is not one of its values {values}")
        made.append(Control(name, labels.get(name, name), values, values.index(default)))
    return tuple(made)


def figure_pixels(figure: Figure, dpi: float) -> np.ndarray:
    """The RGB pixels `figure.savefig(..., dpi=dpi)` would write, drawn in one pass.

    `savefig` lays out a constrained-layout figure in a draw of its own before
    the draw that paints it, then encodes a PNG that the explorer would only
    decode again; drawing once on an Agg canvas gives the same pixels with less
    work (`benchmarks/explorer_rendering.py` measures it: about 12% less CPU a
    frame, the plotting function's own work included). The figure keeps its
    canvas and dpi.
    """
    canvas, old_dpi = figure.canvas, figure.dpi
    try:
        agg = FigureCanvasAgg(figure)
        figure.set_dpi(dpi)
        agg.draw()
        return np.asarray(agg.buffer_rgba())[..., :3].copy()
    finally:
        figure.set_dpi(old_dpi)
        figure.set_canvas(canvas)


class Explorer:
    """A figure with controls; see `explore`."""

    def __init__(
        self,
        draw: Callable[..., Figure],
        controls: Mapping[str, Sequence],
        *,
        defaults: Mapping[str, object] | None = None,
        labels: Mapping[str, str] | None = None,
        key: Callable[..., Hashable] | None = None,
        dpi: int = 80,
        description: str = "",
    ):
        if not callable(draw):
            raise TypeError(f"draw must be a function that returns a matplotlib Figure, got {draw!r}")
        self.draw = draw
        self.controls = _make_controls(controls, dict(defaults or {}), dict(labels or {}))
        self.key = key
        self.dpi = dpi
        self.description = description
        self.frame_count = 1
        for control in self.controls:
            self.frame_count *= len(control.values)
        self._drawn: dict[Hashable, bytes] = {}

    # -- drawing -------------------------------------------------------------------------
    def _png(self, indices: tuple[int, ...]) -> bytes:
        params = {c.name: c.values[i] for c, i in zip(self.controls, indices)}
        key = self.key(**params) if self.key else indices
        if key not in self._drawn:
            self._drawn[key] = self._render(params)
        return self._drawn[key]

    def _render(self, params: dict[str, object]) -> bytes:
        figure = self.draw(**params)
        if not isinstance(figure, Figure):
            raise TypeError(f"{self.draw.__name__} must return a matplotlib Figure, got {type(figure).__name__}")
        plt.close(figure)  # a no-op unless `draw` made the figure with pyplot
        # A 256-colour palette keeps line plots crisp at a third of the size.
        image = Image.fromarray(figure_pixels(figure, self.dpi)).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        compact = io.BytesIO()
        image.save(compact, format="png", optimize=True)
        return compact.getvalue()

    def _indices(self, params: Mapping[str, object]) -> tuple[int, ...]:
        unknown = set(params) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)}; controls are {[c.name for c in self.controls]}")
        indices = []
        for control in self.controls:
            value = params.get(control.name, control.values[control.default])
            if value not in control.values:
                raise ValueError(f"{value!r} is not a value of control {control.name!r}: {control.values}")
            indices.append(control.values.index(value))
        return tuple(indices)

    def frame(self, **params) -> bytes:
        """The PNG drawn for these parameter values (defaults for those not given)."""
        return self._png(self._indices(params))

    # -- live: ipywidgets ----------------------------------------------------------------
    def widget(self):
        """A live ipywidgets panel: controls above the figure, redrawn on every change."""
        import ipywidgets as widgets

        inputs = []
        for control in self.controls:
            options = [(_format_value(v), i) for i, v in enumerate(control.values)]
            kind = widgets.Dropdown if control.is_choice else widgets.SelectionSlider
            inputs.append(
                kind(
                    options=options,
                    value=control.default,
                    description=control.label,
                    style={"description_width": "initial"},
                )
            )
        image = widgets.Image(value=self._png(tuple(c.default for c in self.controls)), format="png")
        error = widgets.HTML(value="")

        def redraw(_change=None):
            try:
                png = self._png(tuple(w.value for w in inputs))
            except Exception as failure:  # shown beside the controls, not only in JupyterLab's log
                image.layout.display = "none"  # never a picture drawn for other values
                error.value = (
                    f'<pre style="color: #b00020; white-space: pre-wrap">Could not draw these values: '
                    f"{type(failure).__name__}: {html.escape(str(failure))}</pre>"
                )
                return
            image.value = png
            image.layout.display = None
            error.value = ""

        for w in inputs:
            w.observe(redraw, names="value")
        return widgets.VBox([widgets.HBox(inputs, layout={"flex_flow": "row wrap"}), image, error])

    # -- static: precomputed frames ------------------------------------------------------
    def static_html(self) -> str:
        """A self-contained HTML explorer: every frame precomputed, no kernel or network needed."""
        if self.frame_count > MAX_FRAMES:
            sizes = " x ".join(f"{len(c.values)} {c.name}" for c in self.controls)
            raise ValueError(
                f"this explorer has {self.frame_count} frames ({sizes}); at most {MAX_FRAMES} "
                "can be stored in a notebook. Offer fewer values per control."
            )
        images: list[str] = []
        seen: dict[bytes, int] = {}
        frames: dict[str, int] = {}
        for indices in itertools.product(*(range(len(c.values)) for c in self.controls)):
            png = self._png(indices)
            if png not in seen:  # parameters that do not change the picture share a frame
                seen[png] = len(images)
                images.append(base64.b64encode(png).decode("ascii"))
            frames[",".join(map(str, indices))] = seen[png]
        default_key = ",".join(str(c.default) for c in self.controls)
        uid = f"dlf-explorer-{hashlib.sha1(''.join(images).encode()).hexdigest()[:12]}-{next(_stored)}"
        controls = "\n".join(self._static_control(c) for c in self.controls)
        data = json.dumps({"images": images, "frames": frames, "controls": controls}).replace("<", "\\u003c")
        shown = ", ".join(f"{c.label} = {_format_value(c.values[c.default])}" for c in self.controls)
        return _STATIC_TEMPLATE.format(
            uid=uid,
            note=html.escape(f"Showing {shown}. Run this cell to explore other values."),
            first=images[frames[default_key]],
            alt=html.escape(self.description or f"Figure drawn by {self.draw.__name__}"),
            data=data,
        )

    @staticmethod
    def _static_control(control: Control) -> str:
        label = html.escape(control.label)
        if control.is_choice:
            options = "".join(
                f'<option value="{i}"{" selected" if i == control.default else ""}>'
                f"{html.escape(_format_value(v))}</option>"
                for i, v in enumerate(control.values)
            )
            return f'<label>{label} <select data-dlf-control="{html.escape(control.name)}">{options}</select></label>'
        names = html.escape(json.dumps([_format_value(v) for v in control.values]), quote=True)
        return (
            f'<label>{label} <input type="range" min="0" max="{len(control.values) - 1}" step="1" '
            f'value="{control.default}" data-dlf-control="{html.escape(control.name)}" data-dlf-values="{names}">'
            f" <output>{html.escape(_format_value(control.values[control.default]))}</output></label>"
        )

    # -- display -------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        if headless():
            summary = f"<Explorer of {self.draw.__name__}: {self.frame_count} frames>"
            return {"text/html": self.static_html(), "text/plain": summary}
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)


_STATIC_TEMPLATE = """\
<div class="dlf-explorer" id="{uid}">
<style>
#{uid} .dlf-explorer-controls {{ display: flex; flex-wrap: wrap; gap: 0.5em 1.5em; margin-bottom: 0.5em;
  font-family: system-ui, sans-serif; font-size: 0.9em; align-items: center; }}
#{uid} output {{ display: inline-block; min-width: 3em; font-variant-numeric: tabular-nums; }}
#{uid} img {{ max-width: 100%; height: auto; }}
</style>
<form class="dlf-explorer-controls" onsubmit="return false"><p class="dlf-explorer-note">{note}</p></form>
<img class="dlf-explorer-frame" alt="{alt}" src="data:image/png;base64,{first}">
<script type="application/json" class="dlf-explorer-data">{data}</script>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var data = JSON.parse(root.querySelector("script.dlf-explorer-data").textContent);
  var image = root.querySelector("img.dlf-explorer-frame");
  root.querySelector("form.dlf-explorer-controls").innerHTML = data.controls;  // replaces the note
  var inputs = Array.prototype.slice.call(root.querySelectorAll("[data-dlf-control]"));
  function update() {{
    inputs.forEach(function (input) {{
      if (input.dataset.dlfValues) {{
        input.parentNode.querySelector("output").textContent = JSON.parse(input.dataset.dlfValues)[input.value];
      }}
    }});
    var key = inputs.map(function (input) {{ return input.value; }}).join(",");
    image.src = "data:image/png;base64," + data.images[data.frames[key]];
  }}
  inputs.forEach(function (input) {{
    input.addEventListener("input", update);
    input.addEventListener("change", update);
  }});
}})();
</script>
</div>"""


def explore(
    draw: Callable[..., Figure],
    controls: Mapping[str, Sequence],
    *,
    defaults: Mapping[str, object] | None = None,
    labels: Mapping[str, str] | None = None,
    key: Callable[..., Hashable] | None = None,
    dpi: int = 80,
    description: str = "",
) -> Explorer:
    """Turn `draw(**params) -> Figure` and the values of each parameter into an explorer.

    `controls` maps each parameter of `draw` to the values it may take: numbers
    give a slider, strings a drop-down. `defaults` picks the starting value of
    any control (else its first value), `labels` a display name. `key(**params)`,
    if given, returns what the picture depends on: combinations with equal keys
    are drawn once (for a parameter that only some choices use). Display the
    result (leave it last in a cell): live widgets in JupyterLab, precomputed
    frames when executed headless for the website.
    """
    return Explorer(draw, controls, defaults=defaults, labels=labels, key=key, dpi=dpi, description=description)
