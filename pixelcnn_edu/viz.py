"""Figures for the course: images, masks, colour connectivity, receptive fields, distributions, curves.

Every ``plot_*`` function (and ``image_grid``) returns a ``matplotlib.figure.Figure`` built
without pyplot, so a notebook cell that ends with the call shows the figure exactly once and
no figure stays open between cells. Pass ``ax=`` to draw into an axes of your own instead.

The ``*_to_png`` functions return PNG bytes for the widgets: a widget swaps the bytes of an
``ipywidgets.Image`` on every slider move instead of redrawing a figure. ``image_to_png`` and
``receptive_field_to_png`` use numpy and PIL only (no figure), so they are fast.

Images are float tensors with values in [0, 1] (``level / (levels - 1)``); numpy arrays are
accepted too. Nothing here imports torchvision.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image

from . import masks
from . import receptive_field as rf

BAR_COLOUR = "#4477AA"
HIGHLIGHT_COLOUR = "#EE3377"
HIGHLIGHT_RGB = tuple(round(255 * v) for v in to_rgb(HIGHLIGHT_COLOUR))
GRID_RGB = (170, 170, 170)
GRID_RGB_HEX = "#AAAAAA"

# The cell classes of a receptive-field picture: (legend label, colour), indexed by code.
FUTURE, UNREACHED, REACHED, BLIND, LEAK, TARGET = range(6)
FIELD_CLASSES: tuple[tuple[str, str], ...] = (
    ("later pixel", "#FFFFFF"),
    ("earlier pixel, out of reach", "#DDDDDD"),
    ("earlier pixel, reaches the target", "#4477AA"),
    ("blind spot (earlier, never reached)", "#EE3377"),
    ("later pixel reached: causality leak!", "#EE7733"),
    ("target pixel", "#222222"),
)
# Channel-resolved receptive fields (colour) add one class: at the target pixel, a channel's
# parameters may read the earlier channels (G reads the current R), which is no leak.
READ_TARGET = len(FIELD_CLASSES)
COLOR_FIELD_CLASSES: tuple[tuple[str, str], ...] = FIELD_CLASSES + (("target pixel, earlier channel: read (allowed)", "#66CCEE"),)
_FIELD_RGB = np.array([[round(255 * v) for v in to_rgb(colour)] for _, colour in COLOR_FIELD_CLASSES], dtype=np.uint8)


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


def _check_probs(probs: Any, name: str = "probs", *, check_sum: bool = True) -> torch.Tensor:
    """(levels,) non-negative probabilities that sum to 1 (unless ``check_sum`` is False)."""
    p = _as_tensor(probs, name)
    if p.dim() != 1 or p.numel() < 2:
        raise ValueError(f"{name} must have shape (levels,) with levels >= 2, got {tuple(p.shape)}")
    if not bool(torch.isfinite(p).all()) or p.min().item() < 0:
        raise ValueError(f"{name} must be finite and non-negative, got min {p.min().item():.4g}; pass probabilities, not logits")
    total = p.sum().item()
    if check_sum and abs(total - 1.0) > 1e-3:
        raise ValueError(f"{name} must sum to 1, got {total:.4g}; pass probabilities (e.g. a softmax of logits)")
    return p


def _level_index(value: Any, levels: int) -> int:
    """A level index from an int level (0..levels-1) or a float value in [0, 1] on the grid."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"value must be a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"value must be an int level or a float in [0, 1], got {type(value).__name__} {value!r}")
    if isinstance(value, (int, np.integer)):
        if not 0 <= value < levels:
            raise ValueError(f"value as a level index must lie in [0, {levels - 1}], got {value}")
        return int(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"value as a float must lie in [0, 1] (level / {levels - 1}), got {value}; pass an int for a level index")
    scaled = value * (levels - 1)
    if abs(scaled - round(scaled)) > 1e-3:
        raise ValueError(f"value {value} is not on the grid of {levels} levels (k / {levels - 1})")
    return round(scaled)


def _field_2d(field: Any, name: str = "field") -> torch.Tensor:
    """A receptive field (H, W), or (C, H, W) combined over channels by abs-sum."""
    f = _as_tensor(field, name)
    if f.dim() not in (2, 3) or 0 in f.shape:
        raise ValueError(f"{name} must have shape (H, W) or (C, H, W), got {tuple(f.shape)}")
    return f.abs().sum(0) if f.dim() == 3 else f


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


def _show_image(ax: Axes, image: torch.Tensor) -> None:
    """Draw a (C, H, W) image in [0, 1]: grey for C = 1, RGB for C = 3."""
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()


def _cell_grid(ax: Axes, h: int, w: int) -> None:
    """Thin lines between the cells of an (h, w) picture drawn with imshow."""
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="#999999", linewidth=0.6)
    ax.tick_params(which="minor", length=0)


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


def _upscale(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (H, W, 3) by an integer ``scale``."""
    return np.ascontiguousarray(pixels.repeat(scale, axis=0).repeat(scale, axis=1))


def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


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


def _outline_cell(pixels: np.ndarray, i: int, j: int, scale: int, colour: Sequence[int], width: int) -> None:
    """Paint a ``width``-pixel frame inside cell (i, j) of an image upscaled by ``scale``."""
    top, left = i * scale, j * scale
    cell = pixels[top : top + scale, left : left + scale]
    cell[:width] = colour
    cell[-width:] = colour
    cell[:, :width] = colour
    cell[:, -width:] = colour


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


# ----------------------------------------------------------------------------- masks


def _check_mask(mask: Any) -> torch.Tensor:
    m = _as_tensor(mask, "mask")
    if m.dim() != 2 or m.shape[0] != m.shape[1] or m.shape[0] % 2 == 0:
        hint = "; pick one kernel with mask[0, 0]" if m.dim() == 4 else ""
        raise ValueError(f"mask must be a square (k, k) tensor with odd k, got shape {tuple(m.shape)}{hint}")
    if not bool(((m == 0) | (m == 1)).all()):
        raise ValueError("mask values must be 0 or 1")
    return m


def plot_mask(mask: torch.Tensor, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Draw a (k, k) 0/1 mask: kept taps filled, the centre (output position) outlined."""
    m = _check_mask(mask)
    k = m.shape[0]
    fig, ax = _figure_and_axes(ax, 2.6, 2.8)
    ax.imshow(m.numpy(), cmap=ListedColormap(["#FFFFFF", BAR_COLOUR]), vmin=0, vmax=1, interpolation="nearest")
    _cell_grid(ax, k, k)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.add_patch(Rectangle((k // 2 - 0.5, k // 2 - 0.5), 1, 1, fill=False, edgecolor=HIGHLIGHT_COLOUR, linewidth=2.5))
    ax.set_title(title if title is not None else f"{k}x{k} mask")
    ax.set_xlabel(f"{int(m.sum().item())} of {k * k} taps kept\n(filled = kept, pink = centre)", fontsize=8)
    return fig


def plot_masks(masks: Mapping[str, torch.Tensor], *, ncols: int | None = None, title: str | None = None) -> Figure:
    """Several masks side by side, each titled with its name (e.g. {"3x3 A": ..., "3x3 B": ...})."""
    if not isinstance(masks, Mapping) or len(masks) == 0:
        raise ValueError(f"masks must be a non-empty mapping of name -> (k, k) mask, got {masks!r}")
    ncols = min(len(masks), 6) if ncols is None else _check_int(ncols, "ncols", 1)
    rows = math.ceil(len(masks) / ncols)
    fig = _new_figure(2.3 * ncols, 2.6 * rows + (0.4 if title else 0.0))
    axes = list(fig.subplots(rows, ncols, squeeze=False).flat)
    for ax, (name, mask) in zip(axes, masks.items()):
        plot_mask(mask, title=name, ax=ax)
    for ax in axes[len(masks) :]:  # the cells left over in the last row
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------- receptive fields


def field_classes(field: torch.Tensor, position: tuple[int, int], *, blind_spot: bool = True) -> np.ndarray:
    """(H, W) int array: the class of every pixel (index into ``FIELD_CLASSES``).

    Pixels before ``position`` are reached, blind spot (``receptive_field.blind_spot``) or out
    of reach; later pixels should never be reached (a leak if they are). The target is its
    own class unless a one-channel field reaches it, which is a leak. A colour field
    (C, H, W) with C > 1 may reach the target pixel through its earlier channels (R -> G -> B),
    so there the target keeps its class.
    """
    f = _field_2d(field)
    i, j = _check_position(position, f.shape)
    raw = _as_tensor(field, "field")
    colour = raw.dim() == 3 and raw.shape[0] > 1
    reached = (f != 0).numpy()
    past = rf.raster_order_mask((1, *f.shape), (0, i, j))[0].numpy()
    classes = np.where(past, UNREACHED, FUTURE)
    classes[past & reached] = REACHED
    if blind_spot:
        classes[rf.blind_spot(f, (i, j)).numpy()] = BLIND
    classes[~past & reached] = LEAK
    if colour or not reached[i, j]:
        classes[i, j] = TARGET
    return classes


def describe_receptive_field(field: torch.Tensor, position: tuple[int, int], *, short: bool = False) -> str:
    """One line: how many earlier pixels the field reaches, its blind spot, any leak."""
    classes = field_classes(field, position)
    counts = np.bincount(classes.ravel(), minlength=len(FIELD_CLASSES))
    earlier = int(counts[UNREACHED] + counts[REACHED] + counts[BLIND])
    if short:
        text = f"reaches {counts[REACHED]}/{earlier} · blind {counts[BLIND]}"
    else:
        text = f"reaches {counts[REACHED]} of {earlier} earlier pixels; blind spot: {counts[BLIND]}"
    if counts[LEAK]:
        text += f"; LEAK: reaches {counts[LEAK]} later pixel(s)"
    return text


def _field_legend(fig: Figure, present: set[int], *, blind_spot: bool, ax: Axes | None = None) -> None:
    shown = {REACHED, TARGET} | ({BLIND} if blind_spot else set()) | present
    handles = [
        Patch(facecolor=COLOR_FIELD_CLASSES[c][1], edgecolor="#999999", label=COLOR_FIELD_CLASSES[c][0])
        for c in range(len(COLOR_FIELD_CLASSES))
        if c in shown
    ]
    if ax is None:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)), fontsize=8)
    else:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)


def _draw_field(ax: Axes, classes: np.ndarray, position: tuple[int, int]) -> None:
    h, w = classes.shape
    ax.imshow(_FIELD_RGB[classes], interpolation="nearest")
    _cell_grid(ax, h, w)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=7)
    i, j = position
    if classes[i, j] == LEAK:  # the target reaches itself: frame it so it stays visible
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#000000", linewidth=2))


def plot_receptive_field(
    field: torch.Tensor,
    position: tuple[int, int],
    *,
    title: str | None = None,
    ax: Axes | None = None,
    blind_spot: bool = True,
) -> Figure:
    """Which inputs reach output ``position`` = (i, j): field (H, W) or (C, H, W), nonzero = reached.

    The target pixel is dark (orange and framed if a one-channel field reaches it: a leak),
    the blind spot (earlier pixels inside the reached area that get no gradient) pink; a
    legend names every colour, and the x label counts them.
    """
    position = _check_position(position, _field_2d(field).shape)
    classes = field_classes(field, position, blind_spot=blind_spot)
    fig, ax = _figure_and_axes(ax, 5.8, 3.6)
    _draw_field(ax, classes, position)
    ax.set_title(title if title is not None else f"receptive field of pixel {position}")
    ax.set_xlabel(f"column j\n{describe_receptive_field(field, position)}", fontsize=9)
    ax.set_ylabel("row i")
    _field_legend(fig, set(np.unique(classes).tolist()), blind_spot=blind_spot, ax=ax)
    return fig


def plot_receptive_fields(
    fields: torch.Tensor,
    position: tuple[int, int],
    *,
    titles: Sequence[str] | None = None,
    blind_spot: bool = True,
    ncols: int | None = None,
    title: str | None = None,
) -> Figure:
    """One panel per field: fields (L, H, W) (or (L, C, H, W)), e.g. one per depth from
    ``layerwise_receptive_fields`` (the default titles), or one per model."""
    f = _as_tensor(fields, "fields")
    if f.dim() not in (3, 4) or 0 in f.shape:
        raise ValueError(f"fields must have shape (L, H, W) or (L, C, H, W), got {tuple(f.shape)}")
    n = f.shape[0]
    titles = [f"after layer {k + 1}" for k in range(n)] if titles is None else list(titles)
    if len(titles) != n:
        raise ValueError(f"titles must have one entry per field ({n}), got {len(titles)}")
    panels = list(f)  # (H, W) or (C, H, W) each
    position = _check_position(position, f.shape[-2:])
    ncols = min(n, 4) if ncols is None else _check_int(ncols, "ncols", 1)
    rows = math.ceil(n / ncols)
    fig = _new_figure(2.7 * ncols, 2.9 * rows + 0.7)
    axes = list(fig.subplots(rows, ncols, squeeze=False).flat)
    present: set[int] = set()
    for ax, panel, text in zip(axes, panels, titles):
        classes = field_classes(panel, position, blind_spot=blind_spot)
        present |= set(np.unique(classes).tolist())
        _draw_field(ax, classes, position)
        ax.set_title(text, fontsize=10)
        ax.set_xlabel(describe_receptive_field(panel, position, short=True), fontsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title if title is not None else f"receptive field of pixel {position}, layer by layer")
    _field_legend(fig, present, blind_spot=blind_spot)
    fig.draw_without_rendering()  # settle the layout (figure legend) before Jupyter's tight PNG
    return fig


def plot_receptive_field_comparison(
    fields: Mapping[str, torch.Tensor], position: tuple[int, int], *, title: str | None = None
) -> Figure:
    """Side by side: the receptive field of the same pixel in each named model (C, H, W) or (H, W),
    e.g. from ``receptive_field.compare_receptive_fields``."""
    if not isinstance(fields, Mapping) or not fields:
        raise TypeError("fields must be a non-empty mapping {model name: field}")
    panels = [_as_tensor(f, f"fields[{name!r}]") for name, f in fields.items()]
    shapes = {tuple(p.shape) for p in panels}
    if len(shapes) != 1:
        raise ValueError(f"all fields must have the same shape, got {sorted(shapes)}")
    text = title if title is not None else f"receptive field of pixel {tuple(position)}, model by model"
    return plot_receptive_fields(torch.stack(panels), position, titles=list(fields), title=text, ncols=len(panels))


def plot_stack_fields(fields: torch.Tensor, position: tuple[int, int], *, title: str | None = None) -> Figure:
    """A Gated PixelCNN's two stacks layer by layer: fields (L, 2, H, W) from
    ``receptive_field.stack_receptive_fields``; top row the vertical stack, bottom the horizontal."""
    f = _as_tensor(fields, "fields")
    if f.dim() != 4 or f.shape[1] != 2 or 0 in f.shape:
        raise ValueError(f"fields must have shape (L, 2, H, W), got {tuple(f.shape)}")
    n = f.shape[0]
    panels = torch.cat([f[:, 0], f[:, 1]])  # vertical row, then horizontal row
    titles = [f"vertical, layer {k + 1}" for k in range(n)] + [f"horizontal, layer {k + 1}" for k in range(n)]
    text = title if title is not None else f"what each stack holds at pixel {tuple(position)}"
    return plot_receptive_fields(panels, position, titles=titles, ncols=n, title=text)


def receptive_field_to_png(
    field: torch.Tensor, position: tuple[int, int], *, scale: int = 20, blind_spot: bool = True
) -> bytes:
    """PNG bytes of ``plot_receptive_field``'s picture (same colours, grid lines), for widgets."""
    i, j = _check_position(position, _field_2d(field).shape)
    classes = field_classes(field, (i, j), blind_spot=blind_spot)
    scale = _check_int(scale, "scale", 2)
    h, w = classes.shape
    pixels = np.empty((h * scale + 1, w * scale + 1, 3), dtype=np.uint8)  # one extra line closes the grid
    pixels[:-1, :-1] = _upscale(_FIELD_RGB[classes], scale)
    pixels[::scale] = GRID_RGB
    pixels[:, ::scale] = GRID_RGB
    _outline_cell(pixels, i, j, scale, (0, 0, 0), max(1, scale // 8))
    return _png_bytes(pixels)


# ----------------------------------------------------------------------------- distributions and curves


def plot_distribution(
    probs: torch.Tensor,
    *,
    value: Any = None,
    title: str | None = None,
    ax: Axes | None = None,
    value_label: str = "drawn value",
    check_sum: bool = True,
) -> Figure:
    """Bar chart of a distribution over levels: probs (levels,), non-negative, summing to 1.

    ``value`` highlights one bar: an int is a level index (0..levels-1), a float is a value
    in [0, 1] on the level grid (as stored in images and sampling traces). ``check_sum=False``
    also draws probabilities that do not sum to 1 (to show a broken likelihood).
    """
    p = _check_probs(probs, check_sum=check_sum)
    levels = p.numel()
    fig, ax = _figure_and_axes(ax, 4.2, 2.7)
    bars = ax.bar(np.arange(levels), p.numpy(), width=0.8 if levels <= 64 else 1.0, color=BAR_COLOUR)
    top = 1.0 if levels <= 16 else max(p.max().item(), 1e-12)
    if value is not None:
        k = _level_index(value, levels)
        bars[k].set_color(HIGHLIGHT_COLOUR)
        ax.plot([k], [p[k].item() + 0.05 * top], marker="v", color=HIGHLIGHT_COLOUR, linestyle="none",
                label=f"{value_label}: {k} (p = {p[k].item():.3g})")
        ax.legend(loc="upper left" if k >= levels / 2 else "upper right", fontsize=8)  # away from the bar
    ax.set_ylim(0, 1.3 * top)  # head room for the marker and the legend
    if levels <= 16:
        ax.set_xticks(range(levels))
        ax.set_yticks(np.linspace(0.0, 1.0, 6))  # no tick above probability 1
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("level")
    ax.set_ylabel("probability")
    ax.set_title(title if title is not None else f"distribution over {levels} levels")
    return fig


def distribution_to_png(
    probs: torch.Tensor, *, value: Any = None, title: str | None = None, value_label: str = "drawn value",
    check_sum: bool = True,
) -> bytes:
    """PNG bytes of ``plot_distribution`` (a small figure, for widgets)."""
    fig = plot_distribution(probs, value=value, title=title, value_label=value_label, check_sum=check_sum)
    return figure_to_png(fig, dpi=90, tight=False)  # constrained layout already fits it: one draw


def plot_probability_map(probs: torch.Tensor, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """An (H, W) map of probabilities in [0, 1] with a colour bar, e.g. p(x_ij = 1 | x_<ij)."""
    p = _as_tensor(probs, "probs")
    if p.dim() != 2 or 0 in p.shape:
        raise ValueError(f"probs must have shape (H, W), got {tuple(p.shape)}")
    _check_unit_range(p, "probs")
    fig, ax = _figure_and_axes(ax, 4.0, 3.4)
    shown = ax.imshow(p.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(shown, ax=ax, label="probability")
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    ax.set_title(title if title is not None else "probability per pixel")
    return fig


def plot_history(history: Any, *, title: str | None = None) -> Figure:
    """Train and test bits/dim per epoch from a ``train.History`` (or its ``as_dict()``)."""
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a train.History or a dict of lists, got {type(history).__name__}")
    curves = {name: [float(v) for v in history.get(f"{name}_bpd", [])] for name in ("train", "test")}
    if not any(curves.values()):
        raise ValueError("history has no 'train_bpd' or 'test_bpd' values to plot")
    fig, ax = _figure_and_axes(None, 5.0, 3.2)
    for name, values in curves.items():
        if values:
            ax.plot(range(1, len(values) + 1), values, marker="o", label=f"{name} (last {values[-1]:.3f})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("bits/dim (lower is better)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title if title is not None else "bits/dim during training")
    return fig


# ----------------------------------------------------------------------------- logistic mixtures

EDGE_COLOUR = "#EE7733"  # the edge bins, which take the tails
BIN_COLOURS = ("#BBCCEE", "#99AACC")  # interior bins, alternating


def plot_discretized_logistic(
    mean: float, log_scale: float, levels: int = 8, *, edge_bins: bool = True, title: str | None = None
) -> Figure:
    """One logistic component cut into ``levels`` bins on [-1, 1], in three panels.

    Left: the density, each bin's area shaded (the edge bins, orange, run out to -inf and +inf).
    Middle: the CDF with the bin edges; a level's probability is the CDF's rise across its bin.
    Right: the probabilities of the levels, computed by ``DiscretizedLogisticMixture.log_bin_mass``,
    and their sum. ``edge_bins=False`` draws the classic mistake: the tails are dropped.
    """
    from .likelihoods import DiscretizedLogisticMixture

    mixture = DiscretizedLogisticMixture(1, levels)
    mean, log_scale = float(mean), float(log_scale)
    scale = math.exp(log_scale)
    half = 1.0 / (levels - 1)
    lo, hi = min(-1.0 - 4 * half, mean - 6 * scale), max(1.0 + 4 * half, mean + 6 * scale)
    x = torch.linspace(lo, hi, 801, dtype=torch.float64)
    z = torch.sigmoid((x - mean) / scale)
    pdf, cdf = z * (1 - z) / scale, z
    edges = [-1.0 + (2 * k + 1) * half for k in range(levels - 1)]  # the boundaries between levels
    mass = mixture.log_bin_mass(torch.arange(levels), torch.tensor(mean, dtype=torch.float64),
                                torch.tensor(log_scale, dtype=torch.float64), edge_bins=edge_bins).exp()
    fig = _new_figure(12.0, 3.2)
    ax_pdf, ax_cdf, ax_bars = fig.subplots(1, 3)
    bounds = [lo, *edges, hi] if edge_bins else [-1.0 - half, *edges, 1.0 + half]
    for k in range(levels):
        inside = (x >= bounds[k]) & (x <= bounds[k + 1])
        edge = edge_bins and k in (0, levels - 1)
        ax_pdf.fill_between(x[inside].numpy(), pdf[inside].numpy(), color=EDGE_COLOUR if edge else BIN_COLOURS[k % 2])
    ax_pdf.plot(x.numpy(), pdf.numpy(), color="black", linewidth=1.2)
    for ax in (ax_pdf, ax_cdf):
        for edge in edges:
            ax.axvline(edge, color=GRID_RGB_HEX, linewidth=0.8)
        ax.axvspan(-1.0 - half, 1.0 + half, color="#F4F4F4", zorder=-1)
        ax.set_xlabel("value on [-1, 1]")
    ax_pdf.set_ylabel("density")
    ax_pdf.set_title(f"logistic density, mean {mean:g}, scale {scale:.3g}")
    ax_cdf.plot(x.numpy(), cdf.numpy(), color="black", linewidth=1.2)
    ax_cdf.set_ylabel("CDF  σ((x − mean) / scale)")
    ax_cdf.set_title(f"its CDF; {levels - 1} bin edges")
    colours = [EDGE_COLOUR if edge_bins and k in (0, levels - 1) else BAR_COLOUR for k in range(levels)]
    ax_bars.bar(np.arange(levels), mass.numpy(), color=colours, width=0.8)
    ax_bars.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_bars.set_xlabel("level")
    ax_bars.set_ylabel("probability")
    ax_bars.set_title(f"probabilities: sum = {float(mass.sum()):.6f}")
    legend = [Patch(color=BIN_COLOURS[0], label="a level's own bin")]
    if edge_bins:
        legend.append(Patch(color=EDGE_COLOUR, label="edge bins: the tails"))
    ax_pdf.legend(handles=legend, fontsize=8, loc="upper left")
    fig.suptitle(title if title is not None else f"a logistic discretised into {levels} levels"
                 + ("" if edge_bins else " (edge bins forgotten)"))
    return fig


def plot_curves(
    x: Any, panels: Mapping[str, Mapping[str, Any]], *, xlabel: str, title: str | None = None
) -> Figure:
    """Line plots side by side: ``panels`` maps each panel's y-axis label to {curve label: y values},
    every curve drawn against ``x`` (a 1-D tensor or array)."""
    xs = _as_tensor(x, "x").flatten()
    if not panels:
        raise ValueError("panels is empty: give at least one {y label: {curve label: values}}")
    fig = _new_figure(4.6 * len(panels), 3.2)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (ylabel, curves) in zip(axes, panels.items()):
        for label, values in curves.items():
            ys = _as_tensor(values, label).flatten()
            if ys.numel() != xs.numel():
                raise ValueError(f"curve {label!r} has {ys.numel()} values for {xs.numel()} x values")
            ax.plot(xs.numpy(), ys.numpy(), label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_conditional_map(
    table: Any, *, given: str = "R", predicted: str = "G", title: str | None = None
) -> Figure:
    """A (given levels, predicted levels) table of distributions as a heat map: column r is
    p(predicted | given = r), e.g. G's distribution for every value of the current R."""
    t = _as_tensor(table, "table")
    if t.dim() != 2 or 0 in t.shape:
        raise ValueError(f"table must have shape (given levels, predicted levels), got {tuple(t.shape)}")
    _check_unit_range(t, "table")
    fig, ax = _figure_and_axes(None, 5.2, 4.0)
    shown = ax.imshow(t.T.numpy(), origin="lower", cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(shown, ax=ax, label="probability")
    ax.set_xlabel(f"level of {given} (already drawn)")
    ax.set_ylabel(f"level of {predicted}")
    ax.set_title(title if title is not None else f"p({predicted} | {given}): one column per value of {given}")
    return fig


# ----------------------------------------------------------------------------- colour: R -> G -> B
#
# Colour groups are ints from ``masks.color_of`` (0 = R, 1 = G, 2 = B); every figure below names a
# map by its group with ``masks.COLOR_NAMES`` and tints it with ``COLOR_TINTS``, so a plot can only
# show the grouping that the masks and the output head really use.

COLOR_TINTS: tuple[str, ...] = ("#CC3311", "#228833", "#0077BB")  # R, G, B
OTHER_TINT = "#777777"  # colour groups after the third (color_groups > 3)
CONNECTED_COLOUR = "#333333"


def _color_name(group: int) -> str:
    """"R", "G", "B" for groups 0, 1, 2; "g3", "g4", ... after them."""
    return masks.COLOR_NAMES[group] if group < len(masks.COLOR_NAMES) else f"g{group}"


def _color_tint(group: int) -> str:
    return COLOR_TINTS[group] if group < len(COLOR_TINTS) else OTHER_TINT


def _check_connectivity(matrix: Any, name: str = "matrix") -> torch.Tensor:
    """(out, in) float 0/1 tensor, e.g. ``masks.channel_mask(in_channels, out_channels, "A")``."""
    m = _as_tensor(matrix, name)
    if m.dim() != 2 or 0 in m.shape:
        hint = "; for a full conv mask take its centre tap, mask[:, :, k // 2, k // 2]" if m.dim() == 4 else ""
        raise ValueError(f"{name} must be a 2-D (out_channels, in_channels) 0/1 matrix, got shape {tuple(m.shape)}{hint}")
    binary = (m == 0) | (m == 1)
    if not bool(binary.all()):
        raise ValueError(f"{name} values must be 0 or 1 (1 = the output map reads the input map), got {m[~binary][0].item():.4g}")
    return m


def _check_colors(colors: Any, n: int, name: str, what: str) -> torch.Tensor | None:
    """``colors`` as an (n,) int64 tensor of colour groups (0 = R, 1 = G, 2 = B), or None.

    ``what`` names the maps the colours belong to, for the error message.
    """
    if colors is None:
        return None
    if isinstance(colors, np.ndarray):
        colors = torch.from_numpy(colors)
    elif isinstance(colors, (list, tuple)):
        colors = torch.tensor(colors)
    if not isinstance(colors, torch.Tensor):
        raise TypeError(f"{name} must be an int tensor from masks.color_of, got {type(colors).__name__}")
    if colors.dtype.is_floating_point or colors.dtype.is_complex or colors.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold int colour groups (0 = R, 1 = G, 2 = B) as from masks.color_of, got dtype {colors.dtype}"
        )
    if colors.dim() != 1 or colors.numel() != n:
        raise ValueError(f"{name} must have shape ({n},), one colour per {what}, got shape {tuple(colors.shape)}")
    colors = colors.detach().cpu().long()
    if colors.min().item() < 0:
        raise ValueError(f"{name} must hold colour groups >= 0 (0 = R, 1 = G, 2 = B), got {colors.min().item()}")
    return colors


def _tint_ticks(labels: Sequence[Any], colors: torch.Tensor) -> None:
    """White tick text on a box of each map's colour."""
    for label, group in zip(labels, colors.tolist()):
        label.set_color("white")
        label.set_fontweight("bold")
        label.set_bbox(dict(facecolor=_color_tint(group), edgecolor="none", boxstyle="round,pad=0.25"))


def _label_maps(ax: Axes, axis: str, colors: torch.Tensor | None, n: int, *, index: bool = True) -> None:
    """Tick every map on ``axis`` ("x" or "y"): "index colour" (or the colour alone), tinted."""
    if colors is None:
        texts = [str(k) for k in range(n)]
    elif index:
        texts = [f"{k} {_color_name(g)}" for k, g in enumerate(colors.tolist())]
    else:
        texts = [_color_name(g) for g in colors.tolist()]
    fontsize = 8 if n <= 16 else 6
    if not index:
        fontsize = 10  # colour names alone: short, and only used for the 3x3 picture
    if axis == "x":
        ax.set_xticks(range(n), texts, fontsize=fontsize, rotation=90 if n > 12 else 0)
        labels = ax.get_xticklabels()
    else:
        ax.set_yticks(range(n), texts, fontsize=fontsize)
        labels = ax.get_yticklabels()
    if colors is not None:
        _tint_ticks(labels, colors)


def _draw_connectivity(
    ax: Axes, m: torch.Tensor, in_colors: torch.Tensor | None, out_colors: torch.Tensor | None, *, index: bool = True
) -> None:
    """An (out, in) 0/1 matrix as a grid: filled = connected, rows/columns labelled by colour."""
    n_out, n_in = m.shape
    ax.imshow(m.numpy(), cmap=ListedColormap(["#FFFFFF", CONNECTED_COLOUR]), vmin=0, vmax=1, interpolation="nearest")
    _cell_grid(ax, n_out, n_in)
    _label_maps(ax, "x", in_colors, n_in, index=index)
    _label_maps(ax, "y", out_colors, n_out, index=index)
    ax.tick_params(which="major", length=0, pad=4)


def plot_connectivity(
    matrix: torch.Tensor,
    *,
    in_colors: torch.Tensor | None = None,
    out_colors: torch.Tensor | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """The centre-tap connectivity of a colour-masked convolution as a grid.

    ``matrix``: (out_channels, in_channels) 0/1, e.g. ``masks.channel_mask(4, 7, "A")``. Rows are
    output maps, columns input maps; a filled cell means the output map reads that input map at
    the current pixel. ``in_colors`` (in_channels,) and ``out_colors`` (out_channels,) are int
    colour groups from ``masks.color_of`` (0 = R, 1 = G, 2 = B): each tick then reads "index colour"
    on a box of that colour. Left out, the ticks carry the index only.
    """
    m = _check_connectivity(matrix)
    n_out, n_in = m.shape
    c_in = _check_colors(in_colors, n_in, "in_colors", "input map (matrix column)")
    c_out = _check_colors(out_colors, n_out, "out_colors", "output map (matrix row)")
    fig, ax = _figure_and_axes(ax, min(12.0, 0.45 * n_in + 2.0), min(12.0, 0.42 * n_out + 1.7))
    _draw_connectivity(ax, m, c_in, c_out)
    ax.set_title(title if title is not None else f"centre connections, {n_in} → {n_out} maps")
    ax.set_xlabel(f"input map\n{int(m.sum().item())} of {m.numel()} open (filled = reads)", fontsize=9)
    ax.set_ylabel("output map")
    return fig


def _color_pair(colors: Mapping[str, Any], name: str, shape: tuple[int, int]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The checked (in_colors, out_colors) of matrix ``name``, or (None, None) if not given."""
    if name not in colors:
        return None, None
    pair = colors[name]
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"colors[{name!r}] must be a pair (in_colors, out_colors), got {type(pair).__name__}")
    n_out, n_in = shape
    return (
        _check_colors(pair[0], n_in, f"colors[{name!r}][0] (in_colors)", "input map (matrix column)"),
        _check_colors(pair[1], n_out, f"colors[{name!r}][1] (out_colors)", "output map (matrix row)"),
    )


def plot_connectivities(
    matrices: Mapping[str, torch.Tensor],
    *,
    colors: Mapping[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
    ncols: int | None = None,
    title: str | None = None,
) -> Figure:
    """Several connectivity matrices side by side, each titled with its name.

    ``matrices``: name -> (out, in) 0/1 matrix (e.g. mask A and B, contiguous and interleaved);
    ``colors``: name -> (in_colors, out_colors) from ``masks.color_of``; a matrix without an entry
    is drawn with index ticks only.
    """
    if not isinstance(matrices, Mapping) or len(matrices) == 0:
        raise ValueError(f"matrices must be a non-empty mapping of name -> (out, in) 0/1 matrix, got {matrices!r}")
    colors = {} if colors is None else colors
    if not isinstance(colors, Mapping):
        raise TypeError(f"colors must be a mapping of name -> (in_colors, out_colors), got {type(colors).__name__}")
    unknown = sorted(set(colors) - set(matrices))
    if unknown:
        raise ValueError(f"colors has names that are not in matrices: {unknown}; matrices has {list(matrices)}")
    checked = {name: _check_connectivity(m, f"matrices[{name!r}]") for name, m in matrices.items()}
    pairs = {name: _color_pair(colors, name, tuple(m.shape)) for name, m in checked.items()}
    ncols = min(len(checked), 4) if ncols is None else _check_int(ncols, "ncols", 1)
    rows = math.ceil(len(checked) / ncols)
    n_out = max(m.shape[0] for m in checked.values())
    n_in = max(m.shape[1] for m in checked.values())
    width = min(16.0, ncols * (0.42 * n_in + 1.3))
    fig = _new_figure(width, min(16.0, rows * (0.4 * n_out + 1.5) + (0.4 if title else 0.0)))
    axes = list(fig.subplots(rows, ncols, squeeze=False).flat)
    for ax, (name, m) in zip(axes, checked.items()):
        _draw_connectivity(ax, m, *pairs[name])
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"input map · {int(m.sum().item())} of {m.numel()} open", fontsize=8)
    for ax in axes[: len(checked) : ncols]:  # the first column names the rows
        ax.set_ylabel("output map")
    for ax in axes[len(checked) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def _reads_text(row: torch.Tensor) -> str:
    """ "R, G" for a 0/1 row over the three colours; "nothing" if none is open."""
    names = [masks.COLOR_NAMES[k] for k in row.nonzero().flatten().tolist()]
    return ", ".join(names) if names else "nothing"


def plot_center_connections(mask_type: str, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """The 3x3 picture: which colours a mask lets each colour read at the current pixel.

    Rows are the colour being predicted (R, G, B), columns the colour read at the same pixel;
    ✓ = allowed, ✗ = hidden. Mask "A" (first layer): R reads nothing, G reads R, B reads R and G.
    Mask "B" (later layers) also lets each colour read its own maps. Built from
    ``masks.channel_mask(3, 3, mask_type)``; pixels before the current one are always readable.
    """
    mask_type = masks.check_mask_type(mask_type)
    m = masks.channel_mask(3, 3, mask_type)
    groups = masks.color_of(3)
    fig, ax = _figure_and_axes(ax, 3.6, 3.9)
    _draw_connectivity(ax, m, groups, groups, index=False)
    for (o, i), value in np.ndenumerate(m.numpy()):
        ax.text(i, o, "✓" if value else "✗", ha="center", va="center", fontsize=18,
                color="white" if value else "#BBBBBB")
    reads = " · ".join(f"{masks.COLOR_NAMES[o]} reads {_reads_text(m[o])}" for o in range(3))
    ax.set_xlabel(f"colour read at the current pixel\n{reads}", fontsize=8)
    ax.set_ylabel("colour being predicted")
    ax.set_title(title if title is not None else f"mask {mask_type}: connections at the current pixel")
    return fig


def _channel_name(c: int, n: int) -> str:
    """Name of channel ``c`` of an ``n``-channel image: R/G/B for RGB, "grey", else "ch c"."""
    if n == 3:
        return masks.COLOR_NAMES[c]
    return "grey" if n == 1 else f"ch {c}"


def _check_channel_field(field: Any) -> tuple[torch.Tensor, bool]:
    """(C_out, C_in, H, W) field and whether it was one (C, H, W) row (all parameters at once)."""
    f = _as_tensor(field, "field")
    if f.dim() == 3:
        f, combined = f[None], True
    elif f.dim() == 4:
        combined = False
        if f.shape[0] != f.shape[1]:
            raise ValueError(
                "field must have shape (C_out, C_in, H, W) with C_out == C_in (one row per image channel, "
                f"as from receptive_field.channel_receptive_field), got {tuple(f.shape)}"
            )
    else:
        raise ValueError(f"field must have shape (C_out, C_in, H, W) or (C, H, W), got {tuple(f.shape)}")
    if 0 in f.shape:
        raise ValueError(f"field must have every size >= 1, got {tuple(f.shape)}")
    return f, combined


def channel_field_classes(panel: torch.Tensor, position: tuple[int, int], allowed: bool) -> np.ndarray:
    """(H, W) classes (index into ``COLOR_FIELD_CLASSES``) of one (H, W) panel of a channel field.

    ``allowed`` says whether this input channel comes before the output channel inside a pixel
    (R before G before B): then reaching the target pixel is ``READ_TARGET``, otherwise ``LEAK``.
    """
    classes = field_classes(panel, position)
    i, j = position
    if allowed and classes[i, j] == LEAK:
        classes[i, j] = READ_TARGET
    return classes


def _current_pixel_text(classes: np.ndarray, position: tuple[int, int], name: str) -> str:
    state = classes[position]
    if state == READ_TARGET:
        return f"current {name}: read (earlier)"
    if state == LEAK:
        return f"current {name}: READ, a leak!"
    return f"current {name}: not read"


def plot_channel_receptive_fields(field: torch.Tensor, position: tuple[int, int], *, title: str | None = None) -> Figure:
    """Which input channels reach the parameters of each output channel at ``position`` = (i, j).

    ``field``: (C_out, C_in, H, W) with C_out == C_in, row c = the field of channel c's parameters
    (``receptive_field.channel_receptive_field``), nonzero = reached. Drawn as a C_out x C_in grid
    of panels "G's params ← input R": reached earlier pixels blue, the target pixel framed, and
    at the target an earlier channel read (G reads the current R) in light blue, a later one
    (G reads the current G or B) orange as a leak. A (C, H, W) field is one row: the parameters of
    all channels together, which may read every channel of the current pixel but the last.
    """
    f, combined = _check_channel_field(field)
    c_out, c_in, h, w = f.shape
    position = _check_position(position, (h, w))
    fig = _new_figure(min(14.0, 2.3 * c_in + 1.0), min(14.0, 2.5 * c_out + 1.2))
    axes = fig.subplots(c_out, c_in, squeeze=False)
    present: set[int] = set()
    for o in range(c_out):
        out_name = "all" if combined else f"{_channel_name(o, c_out)}'s"
        for k in range(c_in):
            ax, in_name = axes[o, k], _channel_name(k, c_in)
            allowed = k < (c_in - 1 if combined else o)  # the order inside a pixel: R, G, B
            classes = channel_field_classes(f[o, k], position, allowed)
            present |= set(np.unique(classes).tolist())
            _draw_field(ax, classes, position)
            ax.add_patch(Rectangle((position[1] - 0.5, position[0] - 0.5), 1, 1, fill=False, edgecolor="#000000", linewidth=1.5))
            ax.set_title(f"{out_name} params ← input {in_name}", fontsize=9)
            ax.set_xlabel(_current_pixel_text(classes, position, in_name), fontsize=8)
            if c_in == 3:
                for spine in ax.spines.values():
                    spine.set(edgecolor=COLOR_TINTS[k], linewidth=2.5)
        label = "parameters of all channels" if combined else f"{out_name} parameters"
        axes[o, 0].set_ylabel(f"{label}\nrow i", fontsize=9, color=COLOR_TINTS[o] if c_out == 3 else "black")
    whose = "the parameters" if combined else "each channel's parameters"
    fig.suptitle(title if title is not None else f"which input channels reach {whose} at pixel {position}")
    _field_legend(fig, present, blind_spot=True)
    fig.draw_without_rendering()  # settle the layout (figure legend) before Jupyter's tight PNG
    return fig


# --- fast sampling, completion and scores (notebook 06) ------------------------------------


def show_source(obj: Any) -> Any:
    """The package's own source of ``obj`` (a function, method or class) as a Markdown code block,
    so a notebook shows how something is computed without keeping a copy of the code."""
    import inspect

    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")


def plot_dependents(cones: torch.Tensor, position: tuple[int, int], *, title: str | None = None) -> Figure:
    """Layer by layer, the activations that change when the input at ``position`` is written:
    cones (L, H, W) bool from ``receptive_field.layerwise_dependents``."""
    c = _as_tensor(cones, "cones")
    if c.dim() != 3 or 0 in c.shape:
        raise ValueError(f"cones must have shape (L, H, W), got {tuple(c.shape)}")
    n, h, w = c.shape
    i, j = _check_position(position, (h, w))
    colours = np.array([[255, 255, 255], [238, 119, 51], [34, 34, 34]], dtype=np.uint8)  # unchanged, changes, written
    fig = _new_figure(2.6 * n, 3.0)
    axes = np.atleast_1d(fig.subplots(1, n))
    for k, ax in enumerate(axes):
        classes = c[k].numpy().astype(np.int64)
        classes[i, j] = 2
        ax.imshow(colours[classes], interpolation="nearest")
        _cell_grid(ax, h, w)
        ax.set_title(f"after layer {k + 1}", fontsize=10)
        ax.set_xlabel(f"{int(c[k].sum())} of {h * w} change", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [Patch(facecolor=f"#{r:02x}{g:02x}{b:02x}", edgecolor="#999999", label=text)
               for (r, g, b), text in zip(colours, ["unchanged", "changes", "the written sub-pixel"])]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(title if title is not None else f"what writing pixel {(i, j)} changes, layer by layer")
    fig.draw_without_rendering()
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


def plot_score_histograms(scores: Mapping[str, Any], *, xlabel: str, title: str | None = None, bins: int = 40) -> Figure:
    """Overlaid histograms of one score for several groups of images: ``scores`` maps a group name
    to its (N,) scores; the median of each group is marked."""
    if not isinstance(scores, Mapping) or not scores:
        raise TypeError("scores must be a non-empty mapping {group: scores}")
    values = {name: _as_tensor(v, name).flatten().double() for name, v in scores.items()}
    everything = torch.cat(list(values.values()))
    edges = np.linspace(float(everything.min()), float(everything.max()), bins + 1)
    fig, ax = _figure_and_axes(None, 7.5, 3.6)
    for k, (name, v) in enumerate(values.items()):
        colour = f"C{k % 10}"
        ax.hist(v.numpy(), bins=edges, histtype="step", linewidth=1.5, color=colour, label=f"{name} (median {v.median():.2f})")
        ax.axvline(float(v.median()), color=colour, linestyle=":", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title if title is not None else f"{xlabel} by group")
    return fig
