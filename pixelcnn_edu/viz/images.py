"""Images: tiled grids, labelled grids and rows of images as figures, PNG files and PNG bytes.

Images are (C, H, W) or batches (N, C, H, W) of floats in [0, 1], C = 1 (grey) or 3 (RGB).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from ._common import (
    HIGHLIGHT_RGB,
    _as_tensor,
    _check_int,
    _check_position,
    _check_unit_range,
    _new_figure,
    _outline_cell,
    _png_bytes,
    _upscale,
)


# ----------------------------------------------------------------------------- input checks


def _check_batch(images: Any, name: str = "images") -> torch.Tensor:
    """(N, C, H, W) float in [0, 1] with C = 1 (grey) or 3 (RGB), ready to display."""
    x = _as_tensor(images, name)
    if x.dim() != 4 or 0 in x.shape:
        raise ValueError(
            f"{name} must have shape (N, C, H, W) with every size >= 1, got {tuple(x.shape)}; "
            "for a single image use image.unsqueeze(0)"
        )
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have 1 (grey) or 3 (RGB) channels, got {x.shape[1]} (shape {tuple(x.shape)})")
    _check_unit_range(x, name)
    return x


def _check_image(image: Any, name: str = "image") -> torch.Tensor:
    """(C, H, W) float in [0, 1] with C = 1 or 3; an (H, W) image gets C = 1."""
    x = _as_tensor(image, name)
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() != 3 or x.shape[0] not in (1, 3) or 0 in x.shape:
        raise ValueError(f"{name} must have shape (H, W), (1, H, W) or (3, H, W), got {tuple(x.shape)}")
    _check_unit_range(x, name)
    return x


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


def tile_images(images: torch.Tensor, nrow: int = 8, padding: int = 1, pad_value: float = 0.5) -> torch.Tensor:
    """Tile a batch into one image: (N, C, H, W) -> (C, H', W').

    ``nrow`` images per row (fewer if N < nrow), ceil(N / nrow) rows, ``padding`` pixels of
    ``pad_value`` around and between the images, so
    H' = rows * (H + padding) + padding and W' = cols * (W + padding) + padding.
    """
    x = _as_tensor(images, "images")
    if x.dim() != 4 or 0 in x.shape:
        raise ValueError(f"images must have shape (N, C, H, W) with every size >= 1, got {tuple(x.shape)}")
    nrow = _check_int(nrow, "nrow", 1)
    padding = _check_int(padding, "padding", 0)
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = torch.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), float(pad_value))
    for k in range(n):
        row, col = divmod(k, cols)
        top, left = padding + row * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = x[k]
    return grid


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


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8 RGB (grey repeated over the three channels)."""
    rgb = image.expand(3, -1, -1) if image.shape[0] == 1 else image
    return (rgb.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()


def save_image_grid(images: torch.Tensor, path: str | Path, *, nrow: int = 8, scale: int = 1) -> Path:
    """Write a batch (N, C, H, W) in [0, 1] as one PNG grid (parent folders are created).

    ``scale`` enlarges every pixel to scale x scale (nearest neighbour). Returns the path.
    """
    x = _check_batch(images)
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png (the grid is written as PNG), got {str(path)!r}")
    scale = _check_int(scale, "scale", 1)
    pixels = _upscale(_to_uint8(tile_images(x, nrow=nrow)), scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="PNG")
    return path


def image_to_png(image: torch.Tensor, *, scale: int = 8, highlight: tuple[int, int] | None = None) -> bytes:
    """PNG bytes of one image, (C, H, W) or (H, W) in [0, 1], each pixel a scale x scale block.

    ``highlight=(i, j)`` frames pixel (i, j) in pink (e.g. the sub-pixel being drawn). Uses
    numpy and PIL only, so it is cheap enough to call on every slider move.
    """
    x = _check_image(image)
    scale = _check_int(scale, "scale", 1)
    pixels = _upscale(_to_uint8(x), scale)
    if highlight is not None:
        i, j = _check_position(highlight, x.shape[1:], "highlight")
        _outline_cell(pixels, i, j, scale, HIGHLIGHT_RGB, max(1, scale // 4))
    return _png_bytes(pixels)


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
