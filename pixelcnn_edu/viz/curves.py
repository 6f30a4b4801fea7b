"""Distributions and curves: a distribution over levels, probability maps, training history,
the discretised logistic, line plots, conditional tables and score histograms.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ._common import (
    BAR_COLOR,
    GRID_RGB_HEX,
    HIGHLIGHT_COLOR,
    _as_tensor,
    _check_unit_range,
    _figure_and_axes,
    _new_figure,
    figure_to_png,
)


# ----------------------------------------------------------------------------- input checks


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


# ----------------------------------------------------------------------------- distributions and curves


def plot_distribution(
    probs: torch.Tensor,
    *,
    value: Any = None,
    title: str | None = None,
    ax: Axes | None = None,
    value_label: str = "drawn value",
    check_sum: bool = True,
    log_scale: bool = False,
) -> Figure:
    """Bar chart of a distribution over levels: probs (levels,), non-negative, summing to 1.

    ``value`` highlights one bar: an int is a level index (0..levels-1), a float is a value
    in [0, 1] on the level grid (as stored in images and sampling traces). ``check_sum=False``
    also draws probabilities that do not sum to 1 (to show a broken likelihood). ``log_scale``
    draws the probabilities on a log axis, so that rare levels next to a spike stay visible.
    """
    if not isinstance(log_scale, bool):
        raise TypeError(f"log_scale must be True or False, got {log_scale!r}")
    p = _check_probs(probs, check_sum=check_sum)
    levels = p.numel()
    fig, ax = _figure_and_axes(ax, 4.2, 2.7)
    bars = ax.bar(np.arange(levels), p.numpy(), width=0.8 if levels <= 64 else 1.0, color=BAR_COLOR)
    top = 1.0 if levels <= 16 else max(p.max().item(), 1e-12)
    if value is not None:
        k = _level_index(value, levels)
        bars[k].set_color(HIGHLIGHT_COLOR)
        ax.plot([k], [p[k].item() + 0.05 * top], marker="v", color=HIGHLIGHT_COLOR, linestyle="none",
                label=f"{value_label}: {k} (p = {p[k].item():.3g})")
        ax.legend(loc="upper left" if k >= levels / 2 else "upper right", fontsize=8)  # away from the bar
    if log_scale:
        positive = p[p > 0]
        ax.set_yscale("log")
        ax.set_ylim(0.5 * positive.min().item() if positive.numel() else 1e-12, 3.0 * top)
    else:
        ax.set_ylim(0, 1.3 * top)  # head room for the marker and the legend
    if levels <= 16:
        ax.set_xticks(range(levels))
        if not log_scale:
            ax.set_yticks(np.linspace(0.0, 1.0, 6))  # no tick above probability 1
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("level")
    ax.set_ylabel("probability (log scale)" if log_scale else "probability")
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

EDGE_COLOR = "#EE7733"  # the edge bins, which take the tails
BIN_COLORS = ("#BBCCEE", "#99AACC")  # interior bins, alternating


def plot_discretized_logistic(
    mean: float, log_scale: float, levels: int = 8, *, edge_bins: bool = True, title: str | None = None
) -> Figure:
    """One logistic component cut into ``levels`` bins on [-1, 1], in three panels.

    Left: the density, each bin's area shaded (the edge bins, orange, run out to -inf and +inf).
    Middle: the CDF with the bin edges; a level's probability is the CDF's rise across its bin.
    Right: the probabilities of the levels, computed by ``DiscretizedLogisticMixture.log_bin_mass``,
    and their sum. ``edge_bins=False`` draws the classic mistake: the tails are dropped.
    """
    from ..likelihoods import DiscretizedLogisticMixture

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
        ax_pdf.fill_between(x[inside].numpy(), pdf[inside].numpy(), color=EDGE_COLOR if edge else BIN_COLORS[k % 2])
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
    colours = [EDGE_COLOR if edge_bins and k in (0, levels - 1) else BAR_COLOR for k in range(levels)]
    ax_bars.bar(np.arange(levels), mass.numpy(), color=colours, width=0.8)
    ax_bars.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_bars.set_xlabel("level")
    ax_bars.set_ylabel("probability")
    ax_bars.set_title(f"probabilities: sum = {float(mass.sum()):.6f}")
    legend = [Patch(color=BIN_COLORS[0], label="a level's own bin")]
    if edge_bins:
        legend.append(Patch(color=EDGE_COLOR, label="edge bins: the tails"))
    ax_pdf.legend(handles=legend, fontsize=8, loc="upper left")
    fig.suptitle(title if title is not None else f"a logistic discretised into {levels} levels"
                 + ("" if edge_bins else " (edge bins forgotten)"))
    return fig


def draw_baselines(ax: Axes, baselines: Mapping[str, float]) -> None:
    """Draw {label: y} as grey horizontal lines, dashed, dotted, then dash-dotted: the scores a
    context-free model reaches (``baselines.py``), under the curves of the models that must beat them."""
    for k, (label, y) in enumerate(baselines.items()):
        ax.axhline(float(y), color="0.35", linestyle=("--", ":", "-.")[k % 3], linewidth=1.2, label=label)


def plot_curves(
    x: Any,
    panels: Mapping[str, Mapping[str, Any]],
    *,
    xlabel: str,
    title: str | None = None,
    baselines: Mapping[str, float] | None = None,
) -> Figure:
    """Line plots side by side: ``panels`` maps each panel's y-axis label to {curve label: y values},
    every curve drawn against ``x`` (a 1-D tensor or array). ``baselines`` {label: y} are drawn in every
    panel as dashed grey horizontal lines (e.g. what a context-free model scores, ``baselines.py``)."""
    xs = _as_tensor(x, "x").flatten()
    if not panels:
        raise ValueError("panels is empty: give at least one {y label: {curve label: values}}")
    fig = _new_figure(6.4 * len(panels), 3.4)  # room for each legend beside its panel, off the curves
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (ylabel, curves) in zip(axes, panels.items()):
        for label, values in curves.items():
            ys = _as_tensor(values, label).flatten()
            if ys.numel() != xs.numel():
                raise ValueError(f"curve {label!r} has {ys.numel()} values for {xs.numel()} x values")
            ax.plot(xs.numpy(), ys.numpy(), label=label)
        draw_baselines(ax, baselines or {})
        if torch.equal(xs, xs.round()):  # whole x values (epochs, layers): no ticks in between
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
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
