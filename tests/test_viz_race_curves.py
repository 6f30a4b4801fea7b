"""Tests of viz.race_curves: a History becomes cumulative steps and seconds, and the figure draws every
run on both axes with the baselines."""

from __future__ import annotations

import pytest

from pixelcnn_edu.train import History
from pixelcnn_edu.viz import race_curves


def test_run_curve_accumulates_steps_and_seconds() -> None:
    history = History(train_bpd=[0.5, 0.4], test_bpd=[0.3, 0.2], images_per_s=[1.0, 1.0], seconds=[1.5, 2.5])
    assert race_curves.run_curve(history, 8) == {"steps": [8, 16], "seconds": [1.5, 4.0], "bpd": [0.3, 0.2]}
    start = race_curves.run_curve(history.as_dict(), 8, start_bpd=1.0)
    assert start == {"steps": [0.0, 8, 16], "seconds": [0.0, 1.5, 4.0], "bpd": [1.0, 0.3, 0.2]}


def test_plot_race_draws_each_run_on_both_axes_with_the_baselines() -> None:
    runs = {"a": {"steps": [0, 8], "seconds": [0, 1.0], "bpd": [1.0, 0.5]},
            "b": {"steps": [0, 8], "seconds": [0, 4.0], "bpd": [1.0, 0.4]}}
    fig = race_curves.plot_race(runs, baselines={"histogram": 0.56}, title="t")
    left, right = fig.axes
    assert [list(line.get_xdata()) for line in left.lines[:2]] == [[0, 8], [0, 8]]
    assert [list(line.get_xdata()) for line in right.lines[:2]] == [[0, 1.0], [0, 4.0]]
    assert len(left.lines) == len(right.lines) == 3  # two runs and the baseline
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert labels == ["a (last 0.500)", "b (last 0.400)", "histogram (0.560)"]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="one length"):
        race_curves.plot_race({"a": {"steps": [0, 8], "seconds": [0], "bpd": [1.0, 0.5]}})
    with pytest.raises(ValueError, match="steps_per_epoch"):
        race_curves.run_curve(History(test_bpd=[0.1], seconds=[1.0]), 0)
    with pytest.raises(TypeError, match="History"):
        race_curves.run_curve([0.1], 8)
