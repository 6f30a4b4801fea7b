"""viz.plot_token_masks and viz.plot_attention_field: titled figures, counts in the labels, bad input named."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from pixelcnn_edu import models, receptive_field, viz


def test_token_masks_one_panel_per_matrix_with_counts() -> None:
    n = 6
    fig = viz.plot_token_masks({"attention (B)": torch.ones(n, n).tril(), "shifted (A)": torch.ones(n, n).tril(-1)},
                               row_length=3, title="masks")
    assert isinstance(fig, Figure) and fig._suptitle.get_text() == "masks"
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["attention (B)", "shifted (A)"]
    assert "21 of 36 pairs kept" in axes[0].get_xlabel() and "15 of 36 pairs kept" in axes[1].get_xlabel()
    assert axes[0].get_ylabel() == "token predicted, t"
    assert len(axes[0].lines) == 2  # one dashed row boundary, both ways


@pytest.mark.parametrize(("matrices", "match"), [
    ({}, "non-empty mapping"),
    ({"a": torch.ones(2, 3)}, "square"),
    ({"a": torch.full((2, 2), 0.5)}, "0 or 1"),
])
def test_token_masks_bad_input(matrices: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        viz.plot_token_masks(matrices)


def test_attention_field_beside_the_autograd_field() -> None:
    torch.manual_seed(0)
    model = models.PixelTransformer(1, 2, hidden=8, n_layers=1, n_heads=2, image_size=(4, 5)).eval()
    x = torch.zeros(1, 1, 4, 5)
    weights = receptive_field.attention_field(model, x, (2, 1))
    field = receptive_field.model_receptive_field(model, (4, 5), (2, 1))
    fig = viz.plot_attention_field(weights, (2, 1), field=field, title="one token")
    assert fig._suptitle.get_text() == "one token"
    left, right = fig.axes[0], fig.axes[1]
    assert left.get_title().startswith("autograd") and right.get_title().startswith("attention")
    assert "11 earlier pixels weighted > 0" in right.get_xlabel()
    alone = viz.plot_attention_field(weights[0], (2, 1))
    assert alone.axes[0].get_title().startswith("attention") and len(alone.axes) == 2  # the map and its colour bar


def test_attention_field_bad_input() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        viz.plot_attention_field(-torch.ones(3, 3), (1, 1))
    with pytest.raises(ValueError, match="same shape|has shape"):
        viz.plot_attention_field(torch.ones(3, 3), (1, 1), field=torch.ones(4, 4))
