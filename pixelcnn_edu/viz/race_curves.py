"""Test bits/dim of several training runs against optimizer steps and against training seconds, side by side.

A race between models whose steps cost different times reads differently on the two axes: per step it
compares what each model learns from the same batches, per second what it learns for the same compute
budget. ``run_curve`` turns a ``train.History`` (one test score per epoch) into the points of one run;
``plot_race`` draws the runs with the context-free baselines as dashed lines.

Import the module itself: ``from pixelcnn_edu.viz import race_curves``.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from ._common import _new_figure
from .curves import draw_baselines


def run_curve(history: Any, steps_per_epoch: int, *, start_bpd: float | None = None) -> dict[str, list[float]]:
    """The points of one run: {"steps", "seconds", "bpd"}, one per finished epoch (cumulative steps and
    training seconds, test bits/dim), preceded by (0, 0, ``start_bpd``) if the untrained score is given.

    history: a ``train.History`` or its ``as_dict()``, with ``test_bpd`` and ``seconds`` per epoch."""
    record = history.as_dict() if hasattr(history, "as_dict") else history
    if not isinstance(record, Mapping) or "test_bpd" not in record or "seconds" not in record:
        raise TypeError("history must be a train.History or a dict with 'test_bpd' and 'seconds' lists")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be an int >= 1, got {steps_per_epoch!r}")
    bpd, seconds = [float(v) for v in record["test_bpd"]], [float(v) for v in record["seconds"]]
    if len(bpd) != len(seconds) or not bpd:
        raise ValueError(f"history needs one test score and one time per epoch, got {len(bpd)} and {len(seconds)}")
    curve = {"steps": [steps_per_epoch * (e + 1) for e in range(len(bpd))],
             "seconds": np.cumsum(seconds).tolist(), "bpd": bpd}
    if start_bpd is not None:
        curve = {key: [0.0 if key != "bpd" else float(start_bpd)] + values for key, values in curve.items()}
    return curve


def plot_race(
    runs: Mapping[str, Mapping[str, Any]],
    *,
    baselines: Mapping[str, float] | None = None,
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Two panels: test bits/dim against optimizer steps (left) and against training seconds (right).

    runs: {model name: {"steps", "seconds", "bpd"}} (from :func:`run_curve`), one point per evaluation;
    baselines: {label: bits/dim} drawn as dashed grey lines in both panels (e.g. ``baselines.histogram_bpd``).
    """
    if not runs:
        raise ValueError("runs is empty: give {model name: run_curve(...)}")
    for name, run in runs.items():
        lengths = {key: len(run[key]) for key in ("steps", "seconds", "bpd") if key in run}
        if len(lengths) != 3 or len(set(lengths.values())) != 1:
            raise ValueError(f"run {name!r} needs 'steps', 'seconds' and 'bpd' of one length, got {lengths}")
    fig = _new_figure(9.6, 3.5)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, label in zip(axes, ("steps", "seconds"), ("optimizer steps", "training seconds (this machine)")):
        for name, run in runs.items():
            ax.plot(run[key], run["bpd"], marker="o", markersize=3.5, label=f"{name} (last {float(run['bpd'][-1]):.3f})")
        draw_baselines(ax, {f"{text} ({float(y):.3f})": y for text, y in (baselines or {}).items()})
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
        if ylim is not None:
            ax.set_ylim(*ylim)
    axes[0].set_ylabel("test bits/dim (lower is better)")
    axes[0].set_title("against steps", fontsize=10)
    axes[1].set_title("against seconds", fontsize=10)
    axes[1].legend(fontsize=7, loc="upper right")
    if title is not None:
        fig.suptitle(title)
    return fig
