"""Tests of viz's colour figures: connectivity matrices, the centre 3x3 picture, channel receptive fields.

Every figure must draw the colours the masks really use, so the tests read the tick labels and
their tints back from the axes and compare them with ``masks.color_of``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image

from pixelcnn_edu import masks, receptive_field, viz

SIZES = [(4, 7), (3, 3), (5, 8)]  # (in_channels, out_channels)
CONVENTIONS = ["contiguous", "interleaved"]


def tick_texts_and_tints(labels: list) -> tuple[list[str], list[tuple[float, ...] | None]]:
    """The text of each tick label and the face colour of its box (None if it has no box)."""
    texts = [label.get_text() for label in labels]
    boxes = [label.get_bbox_patch() for label in labels]
    return texts, [None if box is None else tuple(box.get_facecolor()) for box in boxes]


def expected_ticks(groups: torch.Tensor, *, index: bool = True) -> tuple[list[str], list[tuple[float, ...]]]:
    """The labels and tints a colour tensor from ``masks.color_of`` must produce."""
    names = [masks.COLOR_NAMES[g] for g in groups.tolist()]
    texts = [f"{k} {name}" for k, name in enumerate(names)] if index else names
    return texts, [to_rgba(viz.COLOR_TINTS[g]) for g in groups.tolist()]


def hand_channel_field(size: int = 5, position: tuple[int, int] = (2, 2)) -> torch.Tensor:
    """(3, 3, size, size): every channel reads all earlier pixels; at the target, only earlier channels.

    This is what ``receptive_field.channel_receptive_field`` measures on a correct R -> G -> B
    PixelCNN with a large enough kernel.
    """
    past = receptive_field.raster_order_mask((1, size, size), (0, *position))[0]
    field = torch.zeros(3, 3, size, size)
    field[:, :, past] = 0.5
    for out_c in range(3):
        field[out_c, :out_c, position[0], position[1]] = 1.0  # G reads the current R; B the current R and G
    return field


# ----------------------------------------------------------------------------- plot_connectivity


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize(("n_in", "n_out"), SIZES)
def test_plot_connectivity_draws_matrix_and_colour_labels(n_in: int, n_out: int, convention: str) -> None:
    matrix = masks.channel_mask(n_in, n_out, "A", convention=convention)
    c_in, c_out = masks.color_of(n_in, convention=convention), masks.color_of(n_out, convention=convention)
    fig = viz.plot_connectivity(matrix, in_colors=c_in, out_colors=c_out)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert np.array_equal(np.asarray(ax.images[0].get_array()), matrix.numpy())
    assert tick_texts_and_tints(ax.get_xticklabels()) == expected_ticks(c_in)
    assert tick_texts_and_tints(ax.get_yticklabels()) == expected_ticks(c_out)
    assert ax.get_title() == f"centre connections, {n_in} → {n_out} maps"
    assert f"{int(matrix.sum())} of {n_in * n_out} open" in ax.get_xlabel()
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_plot_connectivity_without_colours_labels_indices_only() -> None:
    fig = viz.plot_connectivity(masks.channel_mask(4, 7, "B"), title="4 -> 7")
    ax = fig.axes[0]
    texts, tints = tick_texts_and_tints(ax.get_yticklabels())
    assert texts == [str(k) for k in range(7)] and tints == [None] * 7
    assert ax.get_title() == "4 -> 7"


def test_plot_connectivity_colours_follow_the_tensor_not_the_convention() -> None:
    """A hand-written grouping (e.g. a wrong output head) is drawn as given."""
    c_out = torch.tensor([2, 2, 0])
    fig = viz.plot_connectivity(torch.ones(3, 3), in_colors=torch.tensor([0, 1, 2]), out_colors=c_out)
    assert tick_texts_and_tints(fig.axes[0].get_yticklabels()) == expected_ticks(c_out)


def test_plot_connectivity_draws_into_given_axes() -> None:
    own = viz.CourseFigure()
    ax = own.add_subplot()
    assert viz.plot_connectivity(masks.channel_mask(3, 3, "A"), ax=ax) is own
    assert len(own.axes) == 1 and len(ax.images) == 1


def test_plot_connectivity_accepts_numpy_and_lists() -> None:
    fig = viz.plot_connectivity(np.eye(3), in_colors=[0, 1, 2], out_colors=np.array([0, 1, 2]))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0 R", "1 G", "2 B"]


@pytest.mark.parametrize(
    ("matrix", "kwargs", "error", "match"),
    [
        (torch.ones(4), {}, ValueError, r"2-D \(out_channels, in_channels\).*\(4,\)"),
        (torch.ones(2, 3, 4), {}, ValueError, r"2-D .*\(2, 3, 4\)"),
        (masks.conv_mask(3, 3, 3, "A", 3), {}, ValueError, r"centre tap, mask\[:, :, k // 2, k // 2\]"),
        (torch.ones(0, 3), {}, ValueError, "2-D"),
        (torch.full((3, 3), 0.5), {}, ValueError, "values must be 0 or 1.*got 0.5"),
        (torch.ones(7, 4), {"in_colors": masks.color_of(7)}, ValueError, r"in_colors must have shape \(4,\).*got shape \(7,\)"),
        (torch.ones(7, 4), {"out_colors": masks.color_of(4)}, ValueError, r"out_colors must have shape \(7,\).*got shape \(4,\)"),
        (torch.ones(3, 3), {"in_colors": torch.tensor([[0, 1, 2]])}, ValueError, r"in_colors must have shape \(3,\)"),
        (torch.ones(3, 3), {"in_colors": torch.tensor([0.0, 1.0, 2.0])}, TypeError, "int colour groups.*float32"),
        (torch.ones(3, 3), {"out_colors": torch.tensor([-1, 0, 1])}, ValueError, "groups >= 0.*got -1"),
        (torch.ones(3, 3), {"out_colors": "RGB"}, TypeError, "out_colors must be an int tensor.*str"),
        ("not a matrix", {}, TypeError, "matrix must be a torch.Tensor"),
    ],
)
def test_plot_connectivity_rejects_bad_input(matrix: object, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        viz.plot_connectivity(matrix, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- plot_connectivities


def test_plot_connectivities_side_by_side() -> None:
    matrices, colors = {}, {}
    for mask_type in "AB":
        for convention in CONVENTIONS:
            name = f"mask {mask_type}, {convention}"
            matrices[name] = masks.channel_mask(4, 7, mask_type, convention=convention)
            colors[name] = (masks.color_of(4, convention=convention), masks.color_of(7, convention=convention))
    matrices["plain"] = masks.channel_mask(5, 8, "B")  # no colours: index ticks
    fig = viz.plot_connectivities(matrices, colors=colors, ncols=2, title="4 -> 7")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == list(matrices)
    assert len(fig.axes) == 6 and fig.get_suptitle() == "4 -> 7"
    interleaved = shown[1]
    assert tick_texts_and_tints(interleaved.get_yticklabels()) == expected_ticks(masks.color_of(7, convention="interleaved"))
    assert [t.get_text() for t in shown[-1].get_xticklabels()] == [str(k) for k in range(5)]


@pytest.mark.parametrize(
    ("matrices", "colors", "error", "match"),
    [
        ({}, None, ValueError, "non-empty mapping"),
        ([torch.ones(3, 3)], None, ValueError, "non-empty mapping"),
        ({"a": torch.ones(3, 3)}, {"b": (masks.color_of(3), masks.color_of(3))}, ValueError, r"not in matrices: \['b'\]"),
        ({"a": torch.ones(3, 3)}, [(0, 1)], TypeError, "colors must be a mapping"),
        ({"a": torch.ones(3, 3)}, {"a": masks.color_of(3)}, ValueError, r"colors\['a'\] must be a pair"),
        (
            {"a": torch.ones(7, 4)},
            {"a": (masks.color_of(7), masks.color_of(4))},
            ValueError,
            r"colors\['a'\]\[0\] \(in_colors\) must have shape \(4,\)",
        ),
        ({"a": torch.full((2, 2), 2.0)}, None, ValueError, r"matrices\['a'\] values must be 0 or 1"),
        ({"a": torch.ones(2, 2)}, None, ValueError, "ncols must be >= 1"),
    ],
)
def test_plot_connectivities_rejects_bad_input(matrices: object, colors: object, error: type, match: str) -> None:
    kwargs = {"ncols": 0} if match.startswith("ncols") else {}
    with pytest.raises(error, match=match):
        viz.plot_connectivities(matrices, colors=colors, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- plot_center_connections


@pytest.mark.parametrize(
    ("mask_type", "n_open", "reads"),
    [("A", 3, "R reads nothing · G reads R · B reads R, G"), ("B", 6, "R reads R · G reads R, G · B reads R, G, B")],
)
def test_plot_center_connections(mask_type: str, n_open: int, reads: str) -> None:
    fig = viz.plot_center_connections(mask_type)
    (ax,) = fig.axes
    marks = [t.get_text() for t in ax.texts]
    assert marks.count("✓") == n_open and marks.count("✗") == 9 - n_open
    assert np.array_equal(np.asarray(ax.images[0].get_array()), masks.channel_mask(3, 3, mask_type).numpy())
    assert tick_texts_and_tints(ax.get_xticklabels()) == expected_ticks(masks.color_of(3), index=False)
    assert tick_texts_and_tints(ax.get_yticklabels()) == expected_ticks(masks.color_of(3), index=False)
    assert reads in ax.get_xlabel()
    assert ax.get_title() == f"mask {mask_type}: connections at the current pixel"


def test_plot_center_connections_title_axes_and_bad_mask_type() -> None:
    own = viz.CourseFigure()
    ax: Axes = own.add_subplot()
    assert viz.plot_center_connections("B", title="mask B", ax=ax) is own
    assert ax.get_title() == "mask B"
    with pytest.raises(ValueError, match="mask_type must be 'A' or 'B', got 'C'"):
        viz.plot_center_connections("C")


# ----------------------------------------------------------------------------- channel receptive fields


def test_channel_field_classes_allow_earlier_channels_at_the_target() -> None:
    field = hand_channel_field()
    assert viz.channel_field_classes(field[1, 0], (2, 2), allowed=True)[2, 2] == viz.READ_TARGET
    assert viz.channel_field_classes(field[1, 1], (2, 2), allowed=False)[2, 2] == viz.TARGET
    leaky = field[1, 1].clone()
    leaky[2, 2] = 1.0  # G's parameters read the current G
    assert viz.channel_field_classes(leaky, (2, 2), allowed=False)[2, 2] == viz.LEAK
    assert viz.COLOR_FIELD_CLASSES[: len(viz.FIELD_CLASSES)] == viz.FIELD_CLASSES


def test_plot_channel_receptive_fields_grid() -> None:
    fig = viz.plot_channel_receptive_fields(hand_channel_field(), (2, 2))
    assert isinstance(fig, Figure) and len(fig.axes) == 9
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["R's params ← input R", "R's params ← input G", "R's params ← input B"]
    assert titles[3] == "G's params ← input R"
    status = [ax.get_xlabel() for ax in fig.axes]
    assert status[3:6] == ["current R: read (earlier)", "current G: not read", "current B: not read"]
    assert status[6:9] == ["current R: read (earlier)", "current G: read (earlier)", "current B: not read"]
    assert not any("leak" in text for text in status)
    assert [fig.axes[3 * o].get_ylabel().splitlines()[0] for o in range(3)] == [f"{c}'s parameters" for c in "RGB"]
    assert fig.axes[4].spines["left"].get_edgecolor() == to_rgba(viz.COLOR_TINTS[1])  # input G's column
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert viz.COLOR_FIELD_CLASSES[viz.READ_TARGET][0] in legend


def test_plot_channel_receptive_fields_shows_a_leak() -> None:
    field = hand_channel_field()
    field[1, 2, 2, 2] = 1.0  # G's parameters read the current B: the classic mistake
    fig = viz.plot_channel_receptive_fields(field, (2, 2), title="wrong grouping")
    assert fig.axes[5].get_xlabel() == "current B: READ, a leak!"
    assert fig.get_suptitle() == "wrong grouping"


def test_plot_channel_receptive_fields_one_row_is_all_parameters() -> None:
    fig = viz.plot_channel_receptive_fields(hand_channel_field().sum(0), (2, 2))
    assert len(fig.axes) == 3
    expected = ["current R: read (earlier)", "current G: read (earlier)", "current B: not read"]
    assert [ax.get_xlabel() for ax in fig.axes] == expected
    assert fig.axes[0].get_ylabel().startswith("parameters of all channels")
    assert fig.axes[0].get_title() == "all params ← input R"


def test_plot_channel_receptive_fields_from_a_model(make_pixelcnn) -> None:
    model = make_pixelcnn(in_channels=3, levels=4, color_groups=3)
    field = receptive_field.channel_receptive_field(model, (5, 5), (2, 2), n_probes=2, generator=torch.Generator().manual_seed(0))
    fig = viz.plot_channel_receptive_fields(field, (2, 2))
    assert not any("leak" in ax.get_xlabel() for ax in fig.axes)
    assert fig.axes[3].get_xlabel() == "current R: read (earlier)"  # G reads the current R


@pytest.mark.parametrize(
    ("field", "position", "error", "match"),
    [
        (torch.ones(3, 5, 5, 5)[:2], (1, 1), ValueError, r"C_out == C_in.*\(2, 5, 5, 5\)"),
        (torch.ones(5, 5), (1, 1), ValueError, r"\(C_out, C_in, H, W\) or \(C, H, W\), got \(5, 5\)"),
        (torch.ones(1, 3, 3, 5, 5), (1, 1), ValueError, r"got \(1, 3, 3, 5, 5\)"),
        (torch.ones(3, 0, 5), (1, 1), ValueError, "every size >= 1"),
        (torch.ones(3, 3, 5, 5), (5, 0), ValueError, "position must lie inside the 5x5 image"),
        (torch.ones(3, 3, 5, 5), 2, TypeError, "position must be a pair of ints"),
    ],
)
def test_plot_channel_receptive_fields_rejects_bad_input(field: torch.Tensor, position: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        viz.plot_channel_receptive_fields(field, position)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- stepper frames in colour


def test_image_to_png_draws_rgb_frames() -> None:
    image = torch.zeros(3, 2, 3)
    image[0, 0, 0] = 1.0  # a red pixel
    image[:, 1, 2] = torch.tensor([0.0, 1.0, 1.0])  # a cyan pixel
    pixels = np.asarray(Image.open(io.BytesIO(viz.image_to_png(image, scale=4))).convert("RGB"))
    assert pixels.shape == (8, 12, 3)
    assert tuple(pixels[1, 1]) == (255, 0, 0) and tuple(pixels[5, 9]) == (0, 255, 255)


@pytest.mark.parametrize("levels", [4, 8, 256])
def test_distribution_to_png_for_colour_levels(levels: int) -> None:
    probs = torch.softmax(torch.linspace(-2.0, 2.0, levels), 0)
    assert viz.distribution_to_png(probs, value=levels - 1, title="G at (0, 0)").startswith(b"\x89PNG")


def test_plot_channel_receptive_fields_grey_field() -> None:
    field = torch.zeros(1, 1, 4, 4)
    field[0, 0, 0] = 1.0  # the first row reaches pixel (1, 1)
    fig = viz.plot_channel_receptive_fields(field, (1, 1))
    assert fig.axes[0].get_title() == "grey's params ← input grey"
    assert fig.axes[0].get_xlabel() == "current grey: not read"


def test_plot_connectivity_names_groups_after_the_third() -> None:
    groups = masks.color_of(4, color_groups=4)
    fig = viz.plot_connectivity(masks.channel_mask(4, 4, "A", color_groups=4), in_colors=groups, out_colors=groups)
    texts, tints = tick_texts_and_tints(fig.axes[0].get_xticklabels())
    assert texts == ["0 R", "1 G", "2 B", "3 g3"] and tints[3] == to_rgba(viz.OTHER_TINT)
