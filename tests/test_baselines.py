"""Context-free baselines: counted by hand on tiny images, and against a trained independent model."""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu import baselines, data, viz


def _set(images: torch.Tensor, levels: int) -> data.ImageDataset:
    return data.ImageDataset(images, torch.zeros(len(images), dtype=torch.long), levels, "tiny")


def test_the_histogram_and_per_pixel_scores_are_the_counted_formula() -> None:
    # two 1x1x2 binary training images: pixel 0 is ink in both, pixel 1 in one of them
    train = _set(torch.tensor([[[[1.0, 1.0]]], [[[1.0, 0.0]]]]), 2)
    test = _set(torch.tensor([[[[1.0, 0.0]]]]), 2)
    # histogram with +1: ink 3 + 1 of 4 + 2 -> p(ink) = 4/6, p(blank) = 2/6
    assert baselines.histogram_bpd(train, test) == pytest.approx(-(math.log2(4 / 6) + math.log2(2 / 6)) / 2)
    # per pixel with +1: pixel 0 p(ink) = 3/4; pixel 1 p(blank) = 2/4
    assert baselines.per_pixel_bpd(train, test) == pytest.approx(-(math.log2(3 / 4) + math.log2(2 / 4)) / 2)
    counts = baselines.level_counts(train.images, 2, per_position=True)
    assert counts.shape == (1, 1, 2, 2) and counts[0, 0, 0].tolist() == [1.0, 3.0]


def test_colour_channels_are_counted_apart_and_the_digits_give_the_known_order() -> None:
    train, test = (data.load_dataset(data.EMBEDDED, split, 2) for split in ("train", "test"))
    histogram, per_pixel = baselines.histogram_bpd(train, test), baselines.per_pixel_bpd(train, test)
    assert 0.3 < per_pixel < histogram < 1.0  # position matters; both beat the uniform 1 bit
    rgb = _set(torch.tensor([[[[1.0]], [[0.0]], [[1.0]]]]).repeat(3, 1, 1, 1), 2)
    counts = baselines.level_counts(rgb.images, 2, per_position=False)
    assert counts.tolist() == [[1.0, 4.0], [4.0, 1.0], [1.0, 4.0]]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="images must be a tensor"):
        baselines.level_counts(torch.zeros(0, 1, 2, 2), 2, per_position=False)
    with pytest.raises(ValueError, match="share levels"):
        baselines.histogram_bpd(_set(torch.zeros(1, 1, 2, 2), 2), _set(torch.zeros(1, 1, 2, 2), 4))
    with pytest.raises(ValueError):
        baselines.level_counts(torch.full((1, 1, 2, 2), 0.5), 2, per_position=False)  # off the level grid


def test_plot_curves_draws_each_baseline_as_a_labelled_line() -> None:
    fig = viz.plot_curves(torch.arange(1, 4), {"bits/dim": {"run": torch.tensor([0.5, 0.4, 0.3])}}, xlabel="epoch",
                          baselines={"histogram": 0.56, "per-pixel frequencies": 0.38})
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["run", "histogram", "per-pixel frequencies"]
    assert ax.get_lines()[1].get_ydata()[0] == pytest.approx(0.56)
