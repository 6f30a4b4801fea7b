"""Tests of viz.level_probs: the distributions it reads are the ones log_prob scores, and the figure
draws one panel per pixel with every model's probability of the true level in its legend."""

from __future__ import annotations

import math

import pytest
import torch

from pixelcnn_edu import likelihoods, models
from pixelcnn_edu.viz import level_probs


def tiny_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"softmax": models.GatedPixelCNN(1, 16, hidden=4, n_layers=1),
            "mixture": models.GatedPixelCNN(1, 16, hidden=4, n_layers=1, likelihood=likelihoods.DiscretizedLogisticMixture(2, 16))}


def test_level_probs_are_the_distributions_log_prob_scores() -> None:
    image = torch.randint(16, (1, 5, 6), generator=torch.Generator().manual_seed(0)).float() / 15
    positions = [(0, 0), (2, 3), (4, 5)]
    for model in tiny_models().values():
        model.train()
        probs = level_probs.level_probs(model, image, positions)
        assert probs.shape == (3, 16) and model.training  # the mode is restored
        assert torch.allclose(probs.sum(1), torch.ones(3), atol=1e-5)
        with torch.no_grad():
            log_p = model.eval().log_prob(image[None])[0, 0]
        for k, (i, j) in enumerate(positions):
            level = round(float(image[0, i, j]) * 15)
            assert math.isclose(float(probs[k, level]), math.exp(float(log_p[i, j])), rel_tol=1e-4)


def test_the_figure_has_a_panel_per_pixel_and_the_true_level_in_the_legend() -> None:
    probs = {"a": torch.full((2, 8), 1 / 8), "b": torch.eye(8)[[3, 5]]}
    fig = level_probs.plot_level_probs(probs, [3, 4], pixel_titles=["here", "there"], title="t")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["here", "there"]
    assert all(ax.get_yscale() == "log" for ax in axes)
    legend = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert legend == ["true level 4", "a: p(true) = 0.125", "b: p(true) = 0"]


def test_bad_inputs_are_refused_by_name() -> None:
    model = tiny_models()["softmax"]
    with pytest.raises(ValueError, match="outside"):
        level_probs.level_probs(model, torch.zeros(1, 4, 4), [(4, 0)])
    with pytest.raises(ValueError, match="shape"):
        level_probs.level_probs(model, torch.zeros(4, 4), [(0, 0)])
    with pytest.raises(ValueError, match="true_levels"):
        level_probs.plot_level_probs({"a": torch.full((2, 8), 1 / 8)}, [1])
    with pytest.raises(ValueError, match="same shape"):
        level_probs.plot_level_probs({"a": torch.full((2, 8), 1 / 8), "b": torch.full((2, 4), 1 / 4)}, [1, 1])
