"""A batch of no images (issue 28): every registered model scores it as an empty (0, C, H, W) result,
forward and backward, and bits per dimension gives nothing per image and refuses a mean over nothing.
MADE and the transformer used to crash (a reshape with -1 cannot infer a size from 0 elements)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from pixelcnn_edu import likelihoods, models

SIZE = (4, 4)  # PixelCNN++ halves the image twice

TINY: dict[str, dict[str, Any]] = {
    "pixelcnn": dict(hidden=6, n_layers=1),
    "gated": dict(hidden=6, n_layers=1),
    "pixelcnn++": dict(hidden=4, n_layers=1, n_mix=2),
    "made": dict(image_size=SIZE, hidden=8),
    "independent": dict(image_size=SIZE),
    "transformer": dict(hidden=8, n_layers=1, n_heads=2, image_size=SIZE),
}


def test_every_registered_model_is_covered() -> None:
    assert set(TINY) == set(models.MODELS)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(TINY))
def test_an_empty_batch_gives_an_empty_result(name: str, channels: int, make_model) -> None:
    model = make_model(models.MODELS[name], in_channels=channels, levels=4, **TINY[name])
    x = torch.zeros(0, channels, *SIZE, requires_grad=True)
    log_p = model.log_prob(x)
    assert log_p.shape == (0, channels, *SIZE)
    (-log_p.sum()).backward()  # the training step's backward pass runs too, and changes nothing
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    assert likelihoods.bits_per_dim_per_image(log_p).shape == (0,)
    with pytest.raises(ValueError, match="bits_per_dim of an empty batch"):
        likelihoods.bits_per_dim(log_p)


@pytest.mark.parametrize("name", ["made", "transformer"])
def test_an_empty_batch_with_a_mixture_or_labels(name: str, make_model) -> None:
    """The transformer's other token layout (one token per pixel, a coupled mixture) and class labels;
    MADE with an uncoupled mixture."""
    coupled = name == "transformer"
    kwargs = dict(TINY[name], likelihood=likelihoods.DiscretizedLogisticMixture(2, 4, coupled=coupled))
    model = make_model(models.MODELS[name], in_channels=3, levels=4, **kwargs)
    assert model.log_prob(torch.zeros(0, 3, *SIZE)).shape == (0, 3, *SIZE)
    if name == "transformer":
        conditional = make_model(models.PixelTransformer, in_channels=1, levels=4, n_classes=3, **TINY[name])
        y = torch.zeros(0, dtype=torch.long)
        assert conditional.log_prob(torch.zeros(0, 1, *SIZE), y).shape == (0, 1, *SIZE)
