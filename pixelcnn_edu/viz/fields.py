"""Receptive fields: which inputs reach an output pixel, its blind spot, any causality leak; and the
dependents, the activations that change when one input is written.

Every picture colours its pixels by class, ``FIELD_CLASSES`` (``COLOR_FIELD_CLASSES`` for colour).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from .. import receptive_field as rf
from ._common import (
    GRID_RGB,
    _as_tensor,
    _cell_grid,
    _check_int,
    _check_position,
    _figure_and_axes,
    _new_figure,
    _outline_cell,
    _png_bytes,
    _upscale,
)


# The cell classes of a receptive-field picture: (legend label, colour), indexed by code.
FUTURE, UNREACHED, REACHED, BLIND, LEAK, TARGET = range(6)
FIELD_CLASSES: tuple[tuple[str, str], ...] = (
    ("later pixel", "#FFFFFF"),
    ("earlier pixel, not reached", "#DDDDDD"),
    ("earlier pixel, reaches the target", "#4477AA"),
    ("blind spot (earlier, inside the reach, not reached)", "#EE3377"),
    ("later pixel reached: causality leak!", "#EE7733"),
    ("target pixel", "#222222"),
)
# Channel-resolved receptive fields (colour) add one class: at the target pixel, a channel's
# parameters may read the earlier channels (G reads the current R), which is no leak.
READ_TARGET = len(FIELD_CLASSES)
COLOR_FIELD_CLASSES: tuple[tuple[str, str], ...] = FIELD_CLASSES + (("target pixel, earlier channel: read (allowed)", "#66CCEE"),)
_FIELD_RGB = np.array([[round(255 * v) for v in to_rgb(colour)] for _, colour in COLOR_FIELD_CLASSES], dtype=np.uint8)


def _field_2d(field: Any, name: str = "field") -> torch.Tensor:
    """A receptive field (H, W), or (C, H, W) combined over channels by abs-sum."""
    f = _as_tensor(field, name)
    if f.dim() not in (2, 3) or 0 in f.shape:
        raise ValueError(f"{name} must have shape (H, W) or (C, H, W), got {tuple(f.shape)}")
    return f.abs().sum(0) if f.dim() == 3 else f


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


def plot_attention_field(
    weights: torch.Tensor, position: tuple[int, int], *, field: torch.Tensor | None = None, title: str | None = None
) -> Figure:
    """Attention as a receptive field: ``weights`` (T, H, W) or (H, W), the attention one query token
    at ``position`` pays to every token (``receptive_field.attention_field``; summed over a pixel's T
    tokens), as a heat map with the target framed. With ``field`` (an autograd receptive field,
    (C, H, W) or (H, W)) the autograd picture is drawn on its left, in the classes of
    :func:`plot_receptive_field`, so the two ways of asking "what does this output read?" sit side by side."""
    w = _field_2d(weights, "weights")
    if bool((w < 0).any()):
        raise ValueError("weights must be >= 0 (attention weights)")
    position = _check_position(position, w.shape)
    i, j = position
    panels = 1 if field is None else 2
    fig = _new_figure(4.6 * panels, 3.9)
    axes = list(np.atleast_1d(fig.subplots(1, panels)))
    if field is not None:
        f = _field_2d(field)
        if f.shape != w.shape:
            raise ValueError(f"field has shape {tuple(f.shape)} but weights have {tuple(w.shape)}")
        classes = field_classes(field, position)
        _draw_field(axes[0], classes, position)
        axes[0].set_title("autograd: inputs that reach the output", fontsize=10)
        axes[0].set_xlabel(f"column j\n{describe_receptive_field(field, position, short=True)}", fontsize=8)
        axes[0].set_ylabel("row i")
    ax = axes[-1]
    shown = ax.imshow(w.numpy(), cmap="magma", vmin=0.0, vmax=max(float(w.max()), 1e-12), interpolation="nearest")
    fig.colorbar(shown, ax=ax, label="attention weight", shrink=0.85)
    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#33BBEE", linewidth=2))
    reached = int((w.flatten()[: i * w.shape[1] + j] > 0).sum())
    ax.set_title("attention: weight on each earlier token", fontsize=10)
    ax.set_xlabel(f"column j\n{reached} earlier pixels weighted > 0; total weight {float(w.sum()):.3f} "
                  f"(rest: start token)", fontsize=8)
    ax.set_ylabel("row i")
    fig.suptitle(title if title is not None else f"what the token at pixel {position} reads")
    return fig
