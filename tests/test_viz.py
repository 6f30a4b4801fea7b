"""Tests of pixelcnn_edu.viz: every function returns a Figure or PNG bytes, shapes add up, bad input is named."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from pixelcnn_edu import masks, receptive_field, train, viz

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_pixels(data: bytes) -> np.ndarray:
    """Decode PNG bytes to an (H, W, 3) uint8 array."""
    assert data.startswith(PNG_SIGNATURE)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def fields() -> torch.Tensor:
    """(3, 8, 8) layer-by-layer fields of pixel (4, 4) through three 3x3 masked convolutions."""
    return receptive_field.layerwise_receptive_fields(receptive_field.masked_conv_stack(3), (8, 8), (4, 4))


# ----------------------------------------------------------------------------- tile_images


def test_tile_images_shape_and_placement() -> None:
    images = torch.rand(5, 2, 4, 6)
    grid = viz.tile_images(images, nrow=3, padding=1, pad_value=0.25)
    assert grid.shape == (2, 2 * (4 + 1) + 1, 3 * (6 + 1) + 1)  # 2 rows of 3 columns
    assert torch.equal(grid[:, 1:5, 1:7], images[0])
    assert torch.equal(grid[:, 6:10, 8:14], images[4])  # row 1, column 1
    assert torch.all(grid[:, 6:10, 15:21] == 0.25)  # the sixth cell is empty
    assert torch.all(grid[:, 0] == 0.25) and torch.all(grid[:, :, 0] == 0.25)


def test_tile_images_fewer_images_than_nrow_and_no_padding() -> None:
    images = torch.rand(3, 1, 2, 2)
    grid = viz.tile_images(images, nrow=8, padding=0)
    assert grid.shape == (1, 2, 6)
    assert torch.equal(grid, torch.cat(list(images), dim=2))


def test_tile_images_accepts_numpy() -> None:
    assert viz.tile_images(np.zeros((4, 1, 3, 3), dtype=np.float32), nrow=2).shape == (1, 9, 9)


@pytest.mark.parametrize(
    ("images", "kwargs", "error", "match"),
    [
        (torch.rand(1, 4, 4), {}, ValueError, r"\(N, C, H, W\)"),
        (torch.rand(2, 1, 4, 4), {"nrow": 0}, ValueError, "nrow must be >= 1"),
        (torch.rand(2, 1, 4, 4), {"padding": -1}, ValueError, "padding must be >= 0"),
        ([[0.0]], {}, TypeError, "images must be a torch.Tensor"),
    ],
)
def test_tile_images_bad_input(images: object, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        viz.tile_images(images, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- image grids


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid_returns_titled_figure(channels: int) -> None:
    fig = viz.image_grid(torch.rand(5, channels, 6, 6), nrow=4, title="samples")
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_title() == "samples"
    assert fig._repr_png_().startswith(PNG_SIGNATURE)  # shows itself in Jupyter without pyplot


def test_image_grid_with_labels_has_one_panel_per_image() -> None:
    fig = viz.image_grid(torch.rand(3, 1, 4, 4), labels=torch.tensor([7, 1, 2]), nrow=2)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == ["7", "1", "2"]
    assert len(fig.axes) == 4  # 2 x 2 panels, the last one empty


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (torch.rand(2, 2, 4, 4), {}, "1 \\(grey\\) or 3 \\(RGB\\) channels"),
        (torch.rand(4, 4), {}, "unsqueeze"),
        (torch.full((1, 1, 2, 2), 255.0), {}, r"\[0, 1\].*max 255"),
        (torch.rand(2, 1, 4, 4), {"labels": ["a"]}, "one entry per image \\(2\\)"),
    ],
)
def test_image_grid_bad_input(images: torch.Tensor, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        viz.image_grid(images, **kwargs)


def test_save_image_grid_writes_png(tmp_path) -> None:
    images = torch.rand(5, 1, 4, 4)
    path = viz.save_image_grid(images, tmp_path / "new" / "dir" / "grid.png", nrow=3, scale=2)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    h, w = viz.tile_images(images, nrow=3).shape[1:]
    assert Image.open(path).size == (2 * w, 2 * h)


def test_save_image_grid_refuses_other_formats(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        viz.save_image_grid(torch.rand(1, 1, 2, 2), tmp_path / "grid.jpg")


# ----------------------------------------------------------------------------- image_to_png


def test_image_to_png_upscales_and_keeps_values() -> None:
    image = torch.tensor([[0.0, 1.0], [0.5, 0.0]])
    pixels = png_pixels(viz.image_to_png(image, scale=4))
    assert pixels.shape == (8, 8, 3)
    assert (pixels[:4, :4] == 0).all() and (pixels[:4, 4:] == 255).all() and (pixels[4:, :4] == 128).all()


def test_image_to_png_rgb_and_highlight() -> None:
    image = torch.zeros(3, 3, 3)
    plain = png_pixels(viz.image_to_png(image, scale=8))
    framed = png_pixels(viz.image_to_png(image, scale=8, highlight=(1, 2)))
    changed = (plain != framed).any(-1)
    rows, cols = np.nonzero(changed)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (8, 15, 16, 23)  # only inside cell (1, 2)
    assert tuple(framed[8, 16]) == viz.HIGHLIGHT_RGB
    assert not changed[11, 19]  # the centre of the cell still shows its value


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"highlight": (3, 0)}, ValueError, "highlight must lie inside the 3x3 image"),
        ({"highlight": 4}, TypeError, "pair of ints"),
        ({"scale": 0}, ValueError, "scale must be >= 1"),
        ({"scale": 2.5}, TypeError, "scale must be an int"),
    ],
)
def test_image_to_png_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        viz.image_to_png(torch.zeros(3, 3), **kwargs)


def test_image_to_png_bad_shape() -> None:
    with pytest.raises(ValueError, match=r"\(H, W\), \(1, H, W\) or \(3, H, W\)"):
        viz.image_to_png(torch.zeros(2, 3, 3))


# ----------------------------------------------------------------------------- masks


def test_plot_mask_and_into_given_axes() -> None:
    fig = viz.plot_mask(masks.spatial_mask(5, "A"), title="5x5 A")
    assert isinstance(fig, Figure) and fig.axes[0].get_title() == "5x5 A"
    assert "12 of 25 taps kept" in fig.axes[0].get_xlabel()
    own = Figure()
    ax = own.add_subplot()
    assert viz.plot_mask(masks.spatial_mask(3, "B"), ax=ax) is own


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (torch.ones(3, 5), "square \\(k, k\\)"),
        (torch.ones(4, 4), "odd k"),
        (torch.ones(2, 2, 3, 3), "mask\\[0, 0\\]"),
        (torch.full((3, 3), 0.5), "0 or 1"),
    ],
)
def test_plot_mask_bad_input(mask: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        viz.plot_mask(mask)


def test_plot_masks_titles_and_empty_cells() -> None:
    named = {f"{k}x{k} {t}": masks.spatial_mask(k, t) for k in (3, 5) for t in "AB"}
    fig = viz.plot_masks(named, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(named)
    assert len(fig.axes) == 6


def test_plot_masks_empty() -> None:
    with pytest.raises(ValueError, match="non-empty mapping"):
        viz.plot_masks({})


# ----------------------------------------------------------------------------- receptive fields


def test_field_classes_match_receptive_field_module(fields: torch.Tensor) -> None:
    classes = viz.field_classes(fields[-1], (4, 4))
    blind = receptive_field.blind_spot(fields[-1], (4, 4))
    assert blind.any()
    assert np.array_equal(classes == viz.BLIND, blind.numpy())
    assert classes[4, 4] == viz.TARGET
    assert ((classes == viz.REACHED) == ((fields[-1] != 0) & ~blind).numpy()).all()
    assert not (classes == viz.LEAK).any()
    assert not (viz.field_classes(fields[-1], (4, 4), blind_spot=False) == viz.BLIND).any()


def test_describe_receptive_field_counts(fields: torch.Tensor) -> None:
    blind = int(receptive_field.blind_spot(fields[-1], (4, 4)).sum())
    reached = int((fields[-1] != 0).sum())
    assert viz.describe_receptive_field(fields[-1], (4, 4)) == (
        f"reaches {reached} of 36 earlier pixels; blind spot: {blind}"
    )


def test_describe_receptive_field_reports_a_leak() -> None:
    field = torch.zeros(4, 4)
    field[3, 3] = 1.0  # a later pixel
    assert "LEAK: reaches 1 later pixel" in viz.describe_receptive_field(field, (1, 1))


def test_target_reached_is_a_leak_only_for_one_channel() -> None:
    grey = torch.zeros(4, 4)
    grey[1, 1] = 1.0  # the output at (1, 1) sees its own input
    assert viz.field_classes(grey, (1, 1))[1, 1] == viz.LEAK
    assert "LEAK" in viz.describe_receptive_field(grey, (1, 1))
    colour = torch.zeros(3, 4, 4)
    colour[0, 1, 1] = 1.0  # e.g. G at (1, 1) sees R at (1, 1): the R -> G -> B order allows it
    assert viz.field_classes(colour, (1, 1))[1, 1] == viz.TARGET
    assert "LEAK" not in viz.describe_receptive_field(colour, (1, 1))


def test_plot_receptive_field_legend_and_labels(fields: torch.Tensor) -> None:
    fig = viz.plot_receptive_field(fields[-1], (4, 4))
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "target pixel" in legend and any("blind spot" in t for t in legend)
    assert ax.get_title() == "receptive field of pixel (4, 4)"
    assert "blind spot:" in ax.get_xlabel()
    fig = viz.plot_receptive_field(fields[-1].expand(3, -1, -1), (4, 4), blind_spot=False, title="RGB")
    assert not any("blind spot" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


@pytest.mark.parametrize(
    ("field", "position", "error", "match"),
    [
        (torch.zeros(8), (0, 0), ValueError, r"\(H, W\) or \(C, H, W\)"),
        (torch.zeros(8, 8), (8, 0), ValueError, "inside the 8x8 image"),
        (torch.zeros(8, 8), "ab", TypeError, "pair of ints"),
    ],
)
def test_plot_receptive_field_bad_input(field: torch.Tensor, position: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        viz.plot_receptive_field(field, position)  # type: ignore[arg-type]


def test_plot_receptive_fields_one_panel_per_layer(fields: torch.Tensor) -> None:
    fig = viz.plot_receptive_fields(fields, (4, 4))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["after layer 1", "after layer 2", "after layer 3"]
    assert fig.legends  # one shared legend
    with pytest.raises(ValueError, match="one entry per field \\(3\\)"):
        viz.plot_receptive_fields(fields, (4, 4), titles=["a"])
    with pytest.raises(ValueError, match=r"\(L, H, W\)"):
        viz.plot_receptive_fields(fields[0], (4, 4))


def test_receptive_field_to_png_colours(fields: torch.Tensor) -> None:
    scale = 10
    pixels = png_pixels(viz.receptive_field_to_png(fields[-1], (4, 4), scale=scale))
    assert pixels.shape == (8 * scale + 1, 8 * scale + 1, 3)
    classes = viz.field_classes(fields[-1], (4, 4))
    i, j = map(int, np.argwhere(classes == viz.BLIND)[0])
    centre = pixels[i * scale + scale // 2, j * scale + scale // 2]
    assert tuple(centre) == tuple(round(255 * v) for v in to_rgb(viz.FIELD_CLASSES[viz.BLIND][1]))


# ----------------------------------------------------------------------------- distributions and curves


def test_plot_distribution_highlights_the_value() -> None:
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    for value in (2, 2 / 3, torch.tensor(2 / 3), torch.tensor(2)):  # level index or value in [0, 1]
        fig = viz.plot_distribution(probs, value=value, title="p")
        bars = fig.axes[0].patches
        assert len(bars) == 4
        colours = [bar.get_facecolor() for bar in bars]
        assert colours[2] != colours[0] and colours[0] == colours[1] == colours[3]
    assert fig.axes[0].get_xlabel() == "level" and fig.axes[0].get_title() == "p"


@pytest.mark.parametrize(
    ("probs", "value", "error", "match"),
    [
        (torch.ones(2, 2) / 4, None, ValueError, r"shape \(levels,\)"),
        (torch.tensor([-1.0, 2.0]), None, ValueError, "non-negative"),
        (torch.tensor([0.2, 0.2]), None, ValueError, "sum to 1"),
        (torch.tensor([0.5, 0.5]), 2, ValueError, r"level index must lie in \[0, 1\]"),
        (torch.tensor([0.5, 0.5]), 1.5, ValueError, r"float must lie in \[0, 1\]"),
        (torch.tensor([0.2, 0.3, 0.5]), 0.25, ValueError, "not on the grid of 3 levels"),
        (torch.tensor([0.5, 0.5]), "1", TypeError, "int level or a float"),
    ],
)
def test_plot_distribution_bad_input(probs: torch.Tensor, value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        viz.plot_distribution(probs, value=value)


def test_plot_distribution_on_a_log_axis_keeps_rare_levels_visible() -> None:
    probs = torch.full((256,), 1e-6)
    probs[0] = 1 - 255e-6
    ax = viz.plot_distribution(probs, log_scale=True).axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "probability (log scale)"
    low, high = ax.get_ylim()
    assert low <= 1e-6 < probs[0].item() <= high
    with pytest.raises(TypeError, match="log_scale"):
        viz.plot_distribution(probs, log_scale="yes")


def test_distribution_to_png() -> None:
    plain = viz.distribution_to_png(torch.tensor([0.25, 0.75]))
    marked = viz.distribution_to_png(torch.tensor([0.25, 0.75]), value=1)
    assert plain.startswith(PNG_SIGNATURE) and marked.startswith(PNG_SIGNATURE) and plain != marked


def test_plot_probability_map_has_colour_bar() -> None:
    fig = viz.plot_probability_map(torch.rand(5, 6), title="p(x = 1)")
    assert len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[1].get_ylabel() == "probability"
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        viz.plot_probability_map(torch.rand(1, 5, 6))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        viz.plot_probability_map(torch.full((2, 2), 1.5))


def test_plot_history_from_history_and_dict() -> None:
    history = train.History(train_bpd=[0.9, 0.5, 0.4], test_bpd=[1.0, 0.6, 0.45])
    for source in (history, history.as_dict()):
        ax = viz.plot_history(source).axes[0]
        assert len(ax.get_lines()) == 2
        assert ax.get_xlabel() == "epoch" and "bits/dim" in ax.get_ylabel()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train (last 0.400)", "test (last 0.450)"]
    assert len(viz.plot_history({"train_bpd": [1.0]}).axes[0].get_lines()) == 1


def test_plot_history_bad_input() -> None:
    with pytest.raises(ValueError, match="no 'train_bpd' or 'test_bpd'"):
        viz.plot_history(train.History())
    with pytest.raises(TypeError, match="train.History or a dict"):
        viz.plot_history([0.5, 0.4])


def test_receptive_field_comparison_has_a_panel_per_model() -> None:
    stack = receptive_field.masked_conv_stack(3)
    field = receptive_field.layerwise_receptive_fields(stack, (6, 6), (4, 3))[-1]
    full = torch.zeros(6, 6)
    full[:4] = 1
    full[4, :3] = 1
    fig = viz.plot_receptive_field_comparison({"masked stack": field, "two stacks": full}, (4, 3))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["masked stack", "two stacks"]
    assert "blind 0" in panels[1].get_xlabel() and "blind 0" not in panels[0].get_xlabel()
    assert fig._suptitle.get_text() == "receptive field of pixel (4, 3), model by model"


def test_receptive_field_comparison_bad_input() -> None:
    with pytest.raises(TypeError, match="non-empty mapping"):
        viz.plot_receptive_field_comparison({}, (1, 1))
    with pytest.raises(ValueError, match="same shape"):
        viz.plot_receptive_field_comparison({"a": torch.ones(4, 4), "b": torch.ones(5, 5)}, (1, 1))


def test_stack_fields_figure_rows_are_the_two_stacks() -> None:
    fields = torch.zeros(2, 2, 5, 5)
    fields[:, 0, :2] = 1
    fields[:, 1, :2] = 1
    fields[:, 1, 2, :2] = 1
    fig = viz.plot_stack_fields(fields, (2, 2))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["vertical, layer 1", "vertical, layer 2", "horizontal, layer 1", "horizontal, layer 2"]
    with pytest.raises(ValueError, match=r"\(L, 2, H, W\)"):
        viz.plot_stack_fields(torch.zeros(2, 3, 5, 5), (2, 2))


# --- logistic mixtures (notebook 05) ----------------------------------------------------------------


@pytest.mark.parametrize("edge_bins", [True, False])
def test_discretized_logistic_figure_reports_the_sum(edge_bins: bool) -> None:
    fig = viz.plot_discretized_logistic(0.55, -1.6, 8, edge_bins=edge_bins)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    title = fig.axes[2].get_title()
    total = float(title.split("=")[1])
    assert (total == pytest.approx(1.0, abs=1e-6)) is edge_bins  # without edge bins the tails are missing
    assert len(fig.axes[2].patches) == 8  # one bar per level


def test_plot_curves_one_panel_per_entry_and_bad_input() -> None:
    x = torch.linspace(0, 1, 5)
    fig = viz.plot_curves(x, {"log p": {"exact": x, "naive": -x}, "gradient": {"exact": x ** 2}}, xlabel="mean")
    assert [ax.get_ylabel() for ax in fig.axes] == ["log p", "gradient"]
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="3 values for 5 x values"):
        viz.plot_curves(x, {"y": {"short": torch.zeros(3)}}, xlabel="x")
    with pytest.raises(ValueError, match="panels is empty"):
        viz.plot_curves(x, {}, xlabel="x")


def test_conditional_map_draws_one_column_per_given_level() -> None:
    table = torch.softmax(torch.randn(6, 4), 1)
    fig = viz.plot_conditional_map(table)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (4, 6)  # predicted levels up, given levels across
    assert "level of R" in fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="shape"):
        viz.plot_conditional_map(torch.ones(3))
