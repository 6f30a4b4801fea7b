"""What the figure modules of ``viz`` share: colours, the Figure class, input checks, PNG helpers.

Private to the package: import the public names from ``pixelcnn_edu.viz``.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from PIL import Image

BAR_COLOUR = "#4477AA"
HIGHLIGHT_COLOUR = "#EE3377"
HIGHLIGHT_RGB = tuple(round(255 * v) for v in to_rgb(HIGHLIGHT_COLOUR))
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


# ----------------------------------------------------------------------------- input checks


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    """``x`` (tensor or numpy array) as a float32 CPU tensor detached from autograd."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    return x.detach().cpu().float()


def _check_unit_range(x: torch.Tensor, name: str) -> None:
    lo, hi = x.min().item(), x.max().item()
    if not (lo >= 0.0 and hi <= 1.0):  # written this way so NaN fails too
        raise ValueError(
            f"{name} values must lie in [0, 1], got min {lo:.4g} and max {hi:.4g}; "
            "divide integer levels by (levels - 1) first"
        )


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_position(position: Any, size: Sequence[int], name: str = "position") -> tuple[int, int]:
    """``position`` as an (i, j) pair of ints inside an image of ``size`` = (H, W)."""
    try:
        i, j = (int(p) for p in position)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of ints (i, j), got {position!r}") from None
    h, w = size
    if not (0 <= i < h and 0 <= j < w):
        raise ValueError(f"{name} must lie inside the {h}x{w} image (0 <= i < {h}, 0 <= j < {w}), got ({i}, {j})")
    return i, j


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


# ----------------------------------------------------------------------------- PNG helpers


def _upscale(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (H, W, 3) by an integer ``scale``."""
    return np.ascontiguousarray(pixels.repeat(scale, axis=0).repeat(scale, axis=1))


def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _outline_cell(pixels: np.ndarray, i: int, j: int, scale: int, colour: Sequence[int], width: int) -> None:
    """Paint a ``width``-pixel frame inside cell (i, j) of an image upscaled by ``scale``."""
    top, left = i * scale, j * scale
    cell = pixels[top : top + scale, left : left + scale]
    cell[:width] = colour
    cell[-width:] = colour
    cell[:, :width] = colour
    cell[:, -width:] = colour
