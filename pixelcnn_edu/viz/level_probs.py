"""p(level | context) at chosen pixels of one image, for several models side by side, on a log axis.

``level_probs`` asks a model for its distribution over every level at a few pixels of a real image
(the context is the image itself, so this is what the model predicted while scoring it);
``plot_level_probs`` draws one panel per pixel with one line per model and the true level marked.
Notebook 05 uses them to set the shipped softmax and mixture models side by side.

Import the module itself: ``from pixelcnn_edu.viz import level_probs``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ._common import HIGHLIGHT_COLOR, _as_tensor, _new_figure

MODEL_COLORS = ("#4477AA", "#EE6677", "#228833", "#CCBB44")  # one per model, colour-blind safe


@torch.no_grad()
def level_probs(
    model: torch.nn.Module,
    image: torch.Tensor,
    positions: Sequence[tuple[int, int]],
    *,
    channel: int = 0,
    y: torch.Tensor | None = None,
) -> torch.Tensor:
    """The model's p(x_c = k | everything before it) for every level k at ``positions`` of ``image``.

    image: (C, H, W) float in [0, 1] on the model's level grid, the context (and, for a coupled
    likelihood, the earlier channels of the pixel); y: a () or (1,) label for a conditional model.
    Returns (P, levels) float on the CPU, each row summing to 1. The model is run in eval mode once.
    """
    x = _as_tensor(image, "image")
    if x.dim() != 3:
        raise ValueError(f"image must have shape (C, H, W), got {tuple(x.shape)}")
    c, h, w = x.shape
    if not 0 <= channel < c:
        raise ValueError(f"channel must be in 0..{c - 1}, got {channel}")
    for i, j in positions:
        if not (0 <= i < h and 0 <= j < w):
            raise ValueError(f"position {(i, j)} is outside the {h}x{w} image")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        batch = x[None].to(device)
        label = None if y is None else torch.as_tensor(y, device=device).reshape(1)
        params = model(batch, label)
        probs = model.likelihood.probs(params, x=batch)  # (1, C, levels, H, W)
    finally:
        model.train(was_training)
    return torch.stack([probs[0, channel, :, i, j] for i, j in positions]).float().cpu()


def plot_level_probs(
    probs: Mapping[str, torch.Tensor],
    true_levels: Sequence[int],
    *,
    pixel_titles: Sequence[str] | None = None,
    title: str | None = None,
    floor: float = 1e-9,
) -> Figure:
    """One panel per pixel: every model's probability of every level on a log axis, the true level marked.

    probs: {model name: (P, levels) probabilities} (from :func:`level_probs`), the same P and levels for
    every model; true_levels: the P levels the image really has there. Each legend entry gives the
    model's probability of the true level. Probabilities below ``floor`` are drawn at ``floor``.
    """
    if not probs:
        raise ValueError("probs is empty: give {model name: (P, levels) probabilities}")
    tables = {name: _as_tensor(p, f"probs[{name!r}]").double() for name, p in probs.items()}
    shapes = {tuple(t.shape) for t in tables.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"every model's probs must have the same shape (P, levels), got {sorted(shapes)}")
    n_pixels, levels = next(iter(shapes))
    if len(true_levels) != n_pixels:
        raise ValueError(f"true_levels has {len(true_levels)} entries for {n_pixels} pixels")
    if any(not 0 <= int(k) < levels for k in true_levels):
        raise ValueError(f"true_levels must lie in 0..{levels - 1}, got {list(true_levels)}")
    if pixel_titles is not None and len(pixel_titles) != n_pixels:
        raise ValueError(f"pixel_titles has {len(pixel_titles)} entries for {n_pixels} pixels")
    fig = _new_figure(4.4 * n_pixels, 3.4)
    axes = np.atleast_1d(fig.subplots(1, n_pixels, sharey=True))
    ks = np.arange(levels)
    for p, ax in enumerate(axes):
        true = int(true_levels[p])
        ax.axvline(true, color=HIGHLIGHT_COLOR, linewidth=1.2, linestyle="--", label=f"true level {true}")
        for m, (name, table) in enumerate(tables.items()):
            row = table[p].clamp_min(floor).numpy()
            color = MODEL_COLORS[m % len(MODEL_COLORS)]
            ax.step(ks, row, where="mid", color=color, linewidth=1.1, label=f"{name}: p(true) = {table[p, true].item():.3g}")
            ax.plot([true], [row[true]], marker="o", color=color, markersize=6, markeredgecolor="black")
        ax.set_yscale("log")
        ax.set_ylim(floor, 2.0)
        ax.set_xlim(-1, levels)
        ax.set_xlabel("level")
        ax.set_title(pixel_titles[p] if pixel_titles is not None else f"pixel {p + 1}", fontsize=10)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("p(level | context), log scale")
    if title is not None:
        fig.suptitle(title)
    return fig
