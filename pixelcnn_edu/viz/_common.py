"""What the figure modules of ``viz`` share: colours, the Figure class, input checks, PNG helpers.

Private to the package: import the public names from ``pixelcnn_edu.viz``.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ..png import (  # noqa: F401  (the checks and PNG helpers every viz module imports from here)
    HIGHLIGHT_COLOR,
    HIGHLIGHT_RGB,
    _as_tensor,
    _check_int,
    _check_position,
    _check_unit_range,
    _outline_cell,
    _png_bytes,
    _upscale,
)

BAR_COLOR = "#4477AA"
GRID_RGB = (170, 170, 170)
GRID_RGB_HEX = "#AAAAAA"


class CourseFigure(Figure):
    """A matplotlib Figure that shows itself as PNG in Jupyter, whether or not pyplot was imported.

    IPython displays an object through its ``_repr_png_`` when no other PNG formatter claims
    it; with the inline backend active, that backend's formatter draws it instead. Either
    way the figure appears once.
    """

    def _repr_png_(self) -> bytes:
        return figure_to_png(self)


def figure_to_png(fig: Figure, *, dpi: float | None = None, tight: bool = True) -> bytes:
    """Render ``fig`` to PNG bytes; ``tight`` crops to the drawn content (one extra draw)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- figure helpers


def _new_figure(width: float, height: float) -> CourseFigure:
    return CourseFigure(figsize=(width, height), layout="constrained")


def _figure_and_axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    """The figure of ``ax``, or a new figure with one axes."""
    if ax is not None:
        fig = ax.figure
        while not isinstance(fig, Figure):  # a SubFigure: climb to the figure that holds it
            fig = fig.figure
        return fig, ax
    fig = _new_figure(width, height)
    return fig, fig.add_subplot()


def _cell_grid(ax: Axes, h: int, w: int) -> None:
    """Thin lines between the cells of an (h, w) picture drawn with imshow."""
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="#999999", linewidth=0.6)
    ax.tick_params(which="minor", length=0)


# ----------------------------------------------------------------------------- diagram helpers

DIAGRAM_EDGE = "#444444"


def _box(ax: Axes, gid: str, x: float, y: float, text: str, colour: str, width: float, height: float,
         fontsize: float = 8.5) -> None:
    """A rounded box centred at (x, y) with ``text``; the text artist carries ``gid`` for tests."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=colour, edgecolor=DIAGRAM_EDGE, linewidth=1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, gid=gid)


def _arrow(ax: Axes, points: Sequence[tuple[float, float]], linestyle: str = "-") -> None:
    """A line through ``points`` with an arrow head on its last segment."""
    xs, ys = zip(*points)
    ax.plot(xs[:-1], ys[:-1], color=DIAGRAM_EDGE, linewidth=1.0, linestyle=linestyle)
    ax.annotate("", xy=points[-1], xytext=points[-2], arrowprops=dict(
        arrowstyle="-|>", color=DIAGRAM_EDGE, linewidth=1.0, linestyle=linestyle, shrinkA=0, shrinkB=0))


