"""Convolution masks: one (k, k) 0/1 mask, or several side by side; token-to-token (L, L) masks of a
sequence model (the causal attention mask) beside them.

Named ``mask_plots`` so that it is never mistaken for ``pixelcnn_edu.masks``, which builds the masks.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ._common import BAR_COLOR, HIGHLIGHT_COLOR, _as_tensor, _cell_grid, _check_int, _figure_and_axes, _new_figure


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
    ax.imshow(m.numpy(), cmap=ListedColormap(["#FFFFFF", BAR_COLOR]), vmin=0, vmax=1, interpolation="nearest")
    _cell_grid(ax, k, k)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.add_patch(Rectangle((k // 2 - 0.5, k // 2 - 0.5), 1, 1, fill=False, edgecolor=HIGHLIGHT_COLOR, linewidth=2.5))
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


def _check_token_mask(matrix: Any, name: str) -> torch.Tensor:
    m = _as_tensor(matrix, name)
    if m.dim() != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"{name} must be a square (L, L) tensor, got shape {tuple(m.shape)}")
    if not bool(((m == 0) | (m == 1)).all()):
        raise ValueError(f"{name} values must be 0 or 1")
    return m


def plot_token_masks(
    matrices: Mapping[str, torch.Tensor], *, row_length: int | None = None, title: str | None = None
) -> Figure:
    """Token-to-token masks side by side: each (L, L) 0/1 matrix, row t = the token being predicted (or
    the query slot), column s = a token it may read, tokens in raster order. The diagonal (a token
    reading itself) is outlined in pink; with ``row_length`` (the image width in tokens) dashed lines
    mark where each image row starts. The x label counts the kept pairs."""
    if not isinstance(matrices, Mapping) or len(matrices) == 0:
        raise ValueError(f"matrices must be a non-empty mapping of name -> (L, L) mask, got {matrices!r}")
    checked = {name: _check_token_mask(m, f"matrices[{name!r}]") for name, m in matrices.items()}
    fig = _new_figure(3.0 * len(checked), 3.5 + (0.3 if title else 0.0))
    axes = np.atleast_1d(fig.subplots(1, len(checked)))
    for ax, (name, m) in zip(axes, checked.items()):
        n = m.shape[0]
        ax.imshow(m.numpy(), cmap=ListedColormap(["#FFFFFF", BAR_COLOR]), vmin=0, vmax=1, interpolation="nearest")
        for t in range(n):
            ax.add_patch(Rectangle((t - 0.5, t - 0.5), 1, 1, fill=False, edgecolor=HIGHLIGHT_COLOR, linewidth=1.2))
        if row_length is not None:
            for start in range(_check_int(row_length, "row_length", 1), n, row_length):
                ax.axhline(start - 0.5, color="#999999", linewidth=0.8, linestyle="--")
                ax.axvline(start - 0.5, color="#999999", linewidth=0.8, linestyle="--")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"token read, s\n{int(m.sum())} of {n * n} pairs kept", fontsize=8)
        ax.set_ylabel("token predicted, t", fontsize=8)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    return fig
