"""Image batches as pixels: input checks, tiles, and PNG bytes and files, with numpy and PIL only.

Images are (C, H, W) or batches (N, C, H, W) of floats in [0, 1], C = 1 (grey) or 3 (RGB). Nothing
here needs matplotlib, so the command line writes its sample grids with the core install; the
figures (``pixelcnn_edu.viz``, the ``[notebooks]`` extra) re-export ``tile_images``,
``save_image_grid`` and ``image_to_png`` and build on the same checks.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

HIGHLIGHT_COLOR = "#EE3377"  # the pixel being drawn, in figures and widgets
HIGHLIGHT_RGB = tuple(int(HIGHLIGHT_COLOR[k : k + 2], 16) for k in (1, 3, 5))


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
