"""Tests of viz.plot_unet: a Figure whose labelled boxes follow the PixelCNNPlusPlus it draws."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from pixelcnn_edu import models, viz
from pixelcnn_edu.viz.unet_diagram import UNET_BOX_IDS


def boxes(fig: Figure) -> dict[str, str]:
    """gid -> text of every labelled box in the diagram."""
    (ax,) = fig.axes
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def test_every_box_is_drawn_with_the_models_numbers() -> None:
    model = models.PixelCNNPlusPlus(in_channels=3, levels=256, hidden=24, n_layers=2, n_mix=5)
    found = boxes(viz.plot_unet(model, image_size=(32, 32)))
    assert set(found) == set(UNET_BOX_IDS)
    assert "32×32" in found["down_0"] and "16×16" in found["down_1"] and "8×8" in found["down_2"]
    assert "8×8" in found["up_0"] and "32×32" in found["up_2"]  # the up pass starts at the smallest size
    assert "2 gated ResNet blocks" in found["down_0"] and "24 maps" in found["down_0"]
    assert "3 gated ResNet blocks" in found["up_2"] and "2 gated ResNet blocks" in found["up_0"]
    assert "3 channels" in found["input"]
    assert f"{model.likelihood.param_channels(3)} maps" in found["head"]
    assert "class bias" not in found["down_0"]


def test_skip_counts_are_what_params_pops() -> None:
    """Each up stage reads one down-pass output per block; together they use every output of the down pass."""
    model = models.PixelCNNPlusPlus(in_channels=1, levels=256, hidden=8, n_layers=2)
    found = boxes(viz.plot_unet(model))
    for stage, blocks in enumerate(model.up_u):
        assert found[f"skip_{stage}"].startswith(f"{len(blocks)} u and {len(blocks)} ul")
    down_outputs = 1 + 3 * 2 + 2  # start + the blocks + the two stride-2 convolutions
    assert sum(len(blocks) for blocks in model.up_u) + 1 == down_outputs  # + the one that starts the up pass


def test_conditional_and_default() -> None:
    assert "class bias" in boxes(viz.plot_unet(models.PixelCNNPlusPlus(in_channels=1, hidden=8, n_classes=10)))["up_1"]
    fig = viz.plot_unet()
    assert "PixelCNN++" in fig.axes[0].get_title()


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="PixelCNNPlusPlus"):
        viz.plot_unet(models.PixelCNN(in_channels=1, levels=2))
    with pytest.raises(ValueError, match="divisible by 4"):
        viz.plot_unet(models.PixelCNNPlusPlus(hidden=8), image_size=(30, 30))
    with pytest.raises(TypeError, match="image_size"):
        viz.plot_unet(models.PixelCNNPlusPlus(hidden=8), image_size=28)
    with pytest.raises(TypeError, match="title"):
        viz.plot_unet(title=3)
