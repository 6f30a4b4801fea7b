"""Tests of viz.plot_gated_block: a Figure whose labelled boxes follow the GatedBlock it draws."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from pixelcnn_edu import layers, models, viz
from pixelcnn_edu.viz.gated_diagram import BOX_IDS

ALWAYS = {"v_in", "h_in", "vertical_conv", "horizontal_conv", "link", "h_add", "vertical_gate", "horizontal_gate",
          "out", "v_out", "h_out"}


def boxes(fig: Figure) -> dict[str, str]:
    """gid -> text of every labelled box in the diagram."""
    (ax,) = fig.axes
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def test_default_is_a_later_unconditional_layer() -> None:
    fig = viz.plot_gated_block()
    assert isinstance(fig, Figure)
    found = boxes(fig)
    assert set(found) == ALWAYS | {"residual_add", "skip", "skip_out"}
    assert set(found) <= set(BOX_IDS)
    assert "(2×3 taps)" in found["vertical_conv"]  # 3x3 window, mask B: two rows of three
    assert "(1×2 taps)" in found["horizontal_conv"]
    assert "2p → 2p" in found["link"]
    assert "tanh" in found["vertical_gate"] and "sigma" in found["horizontal_gate"]
    assert "h + out(g)" in found["h_out"]
    assert "mask B" in fig.axes[0].get_title() and "3×3" in fig.axes[0].get_title()


def test_first_layer_is_shifted_and_has_no_residual() -> None:
    found = boxes(viz.plot_gated_block(kernel_size=7, mask_type="A"))
    assert "residual_add" not in found
    assert "(3×7 taps)" in found["vertical_conv"] and "shift" in found["vertical_conv"]
    assert "(1×3 taps)" in found["horizontal_conv"]  # grey: the centre column is dropped
    assert "image" in found["v_in"] and "no residual" in found["h_out"]


def test_conditional_adds_a_class_bias_to_each_stack() -> None:
    found = boxes(viz.plot_gated_block(conditional=True))
    assert {"bias_v", "bias_h", "v_add"} <= set(found)
    assert "bias_v" not in boxes(viz.plot_gated_block(conditional=False))


def test_a_real_block_is_drawn_with_its_own_numbers() -> None:
    model = models.GatedPixelCNN(in_channels=1, levels=2, hidden=16, n_layers=2, dilations=[1, 2], n_classes=10)
    found = boxes(viz.plot_gated_block(model.layers[2]))
    assert "2p = 32" in found["vertical_conv"] and "dilation 2" in found["vertical_conv"]
    assert "32 → 32" in found["link"]
    assert "16 → 32" in found["skip"]  # the model's skip_channels default to 2 * hidden
    assert "bias_h" in found
    no_skips = models.GatedPixelCNN(in_channels=1, levels=2, hidden=8, n_layers=1, skips=False)
    assert "skip" not in boxes(viz.plot_gated_block(no_skips.layers[1]))


def test_colour_block_says_the_centre_tap_is_masked() -> None:
    block = layers.GatedBlock(6, 6, 3, "B", color_groups=3)
    assert "R→G→B" in boxes(viz.plot_gated_block(block))["horizontal_conv"]


def test_draws_into_a_given_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.plot_gated_block(ax=ax, title="my block") is fig
    assert ax.get_title() == "my block"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((), {"kernel_size": 4}, ValueError, "positive odd"),
        ((), {"kernel_size": 3.0}, TypeError, "kernel_size must be an int"),
        ((), {"kernel_size": 1, "mask_type": "A"}, ValueError, "mask-A layer needs kernel_size >= 3"),
        ((), {"mask_type": "C"}, ValueError, "mask_type must be 'A'"),
        ((), {"conditional": 1}, TypeError, "conditional must be True or False"),
        ((), {"title": 3}, TypeError, "title must be a str"),
        (("not a block",), {}, TypeError, "block must be a layers.GatedBlock"),
        ((layers.GatedBlock(4, 4, 3),), {"kernel_size": 5}, TypeError, "either block or"),
    ],
)
def test_bad_arguments_are_named(args: tuple, kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        viz.plot_gated_block(*args, **kwargs)
