"""Colour, R -> G -> B: the centre-tap connectivity of colour masks, the 3x3 picture of which colour
reads which at the current pixel, and receptive fields resolved by channel.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import masks
from ._common import _as_tensor, _cell_grid, _check_int, _check_position, _figure_and_axes, _new_figure
from .fields import LEAK, READ_TARGET, _draw_field, _field_legend, field_classes


# Colour groups are ints from ``masks.color_of`` (0 = R, 1 = G, 2 = B); every figure below names a
# map by its group with ``masks.COLOR_NAMES`` and tints it with ``COLOR_TINTS``, so a plot can only
# show the grouping that the masks and the output head really use.

COLOR_TINTS: tuple[str, ...] = ("#CC3311", "#228833", "#0077BB")  # R, G, B
OTHER_TINT = "#777777"  # colour groups after the third (color_groups > 3)
CONNECTED_COLOR = "#333333"


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
    ax.imshow(m.numpy(), cmap=ListedColormap(["#FFFFFF", CONNECTED_COLOR]), vmin=0, vmax=1, interpolation="nearest")
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
