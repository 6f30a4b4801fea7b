"""Images: tiled grids, labelled grids and rows of images as figures, PNG files and PNG bytes.

Images are (C, H, W) or batches (N, C, H, W) of floats in [0, 1], C = 1 (grey) or 3 (RGB).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..png import _check_batch, _check_int, image_to_png, save_image_grid, tile_images  # noqa: F401  (re-exported)
from ._common import _new_figure
from .curves import plot_distribution


# ----------------------------------------------------------------------------- figure helpers


def _show_image(ax: Axes, image: torch.Tensor) -> None:
    """Draw a (C, H, W) image in [0, 1]: grey for C = 1, RGB for C = 3."""
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()


def _label_text(label: Any) -> str:
    return f"{label:.3g}" if isinstance(label, float) else str(label)


# ----------------------------------------------------------------------------- image grids


def image_grid(
    images: torch.Tensor,
    *,
    nrow: int = 8,
    title: str | None = None,
    labels: Sequence[Any] | torch.Tensor | None = None,
) -> Figure:
    """A grid of images: (N, C, H, W) float in [0, 1], C = 1 (grey) or 3 (RGB).

    ``labels`` (one per image, e.g. the class or the bits/dim) are written above the images.
    """
    x = _check_batch(images)
    n, c, h, w = x.shape
    nrow = _check_int(nrow, "nrow", 1)
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    title = title if title is not None else f"{n} images ({h}x{w}, {'grey' if c == 1 else 'RGB'})"
    if labels is None:
        fig = _new_figure(min(12.0, 1.0 * cols + 0.5), min(12.0, 1.0 * rows * h / w + 0.6))
        ax = fig.add_subplot()
        _show_image(ax, tile_images(x, nrow=cols))
        ax.set_title(title)
        return fig
    texts = [_label_text(v) for v in (labels.tolist() if isinstance(labels, torch.Tensor) else list(labels))]
    if len(texts) != n:
        raise ValueError(f"labels must have one entry per image ({n}), got {len(texts)}")
    fig = _new_figure(min(14.0, 1.2 * cols + 0.3), min(14.0, 1.45 * rows * h / w + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            _show_image(ax, x[k])
            ax.set_title(texts[k], fontsize=9)
    fig.suptitle(title)
    return fig


def plot_image_rows(rows: Mapping[str, torch.Tensor], *, title: str | None = None, col_labels: Sequence[str] | None = None) -> Figure:
    """Rows of images with a label on the left of each: ``rows`` maps a row label to (N, C, H, W);
    rows may differ in N. ``col_labels`` name the columns above the first row."""
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError("rows must be a non-empty mapping {row label: images (N, C, H, W)}")
    batches = {label: _check_batch(images, f"rows[{label!r}]") for label, images in rows.items()}
    cols = max(b.shape[0] for b in batches.values())
    if col_labels is not None and len(col_labels) > cols:
        raise ValueError(f"col_labels has {len(col_labels)} entries for {cols} columns")
    fig = _new_figure(1.0 * cols + 1.6, 1.05 * len(batches) + 0.7)
    axes = fig.subplots(len(batches), cols, squeeze=False)
    for r, (label, images) in enumerate(batches.items()):
        for k in range(cols):
            ax = axes[r, k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < images.shape[0]:
                _show_image(ax, images[k])
            else:
                ax.set_axis_off()
            if r == 0 and col_labels is not None and k < len(col_labels):
                ax.set_title(col_labels[k], fontsize=9)
        axes[r, 0].text(-0.08, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=9)
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_steps_with_distributions(
    frames: torch.Tensor,
    probs: Sequence[torch.Tensor | None],
    values: Sequence[int | None],
    *,
    labels: Sequence[str],
    value_label: str = "drawn value",
    title: str | None = None,
) -> Figure:
    """A drawing at a few steps: frames (N, C, H, W) in [0, 1] on top, and under each frame the
    distribution (levels,) its last step was drawn (or scored) from, ``values[k]`` marked; a frame
    with no step yet (``probs[k] is None``) has an empty panel. The static copy of a stepper."""
    x = _check_batch(frames)
    n = x.shape[0]
    if not len(probs) == len(values) == len(labels) == n:
        raise ValueError(f"probs, values and labels need one entry per frame ({n}), got {len(probs)}, {len(values)}, {len(labels)}")
    fig = _new_figure(min(16.0, 2.9 * n), 5.4)
    axes = fig.subplots(2, n, squeeze=False, height_ratios=[1.2, 1.0])
    for k in range(n):
        _show_image(axes[0, k], x[k])
        axes[0, k].set_title(labels[k], fontsize=9)
        if probs[k] is None:
            axes[1, k].set_axis_off()
            axes[1, k].text(0.5, 0.5, "nothing drawn yet", ha="center", va="center", fontsize=8)
        else:
            plot_distribution(probs[k], value=values[k], ax=axes[1, k], value_label=value_label, title="")
            axes[1, k].set_xlabel("level", fontsize=8)
            axes[1, k].xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))  # 256 levels: few, readable ticks
    fig.suptitle(title if title is not None else f"{n} steps of a drawing, with the distribution of each step")
    return fig
