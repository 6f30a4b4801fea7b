"""Colour: R -> G -> B channel masks, both conventions, and RGB models proved causal by autograd.

Inside a pixel the order is R, then G, then B. Every feature map belongs to one colour
(``masks.color_of``); at the kernel centre a map of colour g reads earlier colours (mask A) or
earlier colours and its own (mask B). The masks are checked against matrices written out by hand
(including channel counts that are not multiples of 3), the two conventions are shown equal up to
a permutation by computation, and the models built from them are checked sub-pixel by sub-pixel:
G's log-probability reads the current R and not the current G or B, B's reads R and G, and nothing
reads the future. The classic mistake (masks in one grouping, output head in another) must be caught.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any, Callable

import pytest
import torch
from torch import nn

from pixelcnn_edu import data, masks, models, sampling, train
from pixelcnn_edu.layers import ChannelLayerNorm, MaskedConv2d, make_norm
from pixelcnn_edu.receptive_field import check_causality, raster_order_mask

CONVENTIONS = ("contiguous", "interleaved")
RGBFactory = Callable[..., models.PixelCNN]


@pytest.fixture
def rgb_pixelcnn(make_pixelcnn) -> RGBFactory:
    """Factory for a tiny seeded R -> G -> B PixelCNN (3x3 kernels, 2 blocks, 4 levels); keywords override."""

    def make(**overrides: Any) -> models.PixelCNN:
        kwargs: dict[str, Any] = dict(in_channels=3, levels=4, hidden=24, n_layers=2)
        kwargs.update(overrides)
        return make_pixelcnn(**kwargs)

    return make


def rgb_images(n: int, size: tuple[int, int], levels: int, seed: int = 0) -> torch.Tensor:
    """(n, 3, H, W) random images on the level grid (probe images for the gradient checks)."""
    return torch.randint(levels, (n, 3, *size), generator=torch.Generator().manual_seed(seed)).float() / (levels - 1)


def tensor(rows: list[list[int]] | list[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(rows, dtype=dtype)


# --- color_of: which colour each feature map carries --------------------------------------------

R, G, B = 0, 1, 2
HAND_COLORS = {
    ("contiguous", 3): [R, G, B],
    ("contiguous", 4): [R, R, G, B],
    ("contiguous", 5): [R, R, G, G, B],
    ("contiguous", 7): [R, R, R, G, G, B, B],
    ("contiguous", 8): [R, R, R, G, G, G, B, B],
    ("contiguous", 11): [R, R, R, R, G, G, G, G, B, B, B],
    ("interleaved", 3): [R, G, B],
    ("interleaved", 4): [R, G, B, R],
    ("interleaved", 5): [R, G, B, R, G],
    ("interleaved", 7): [R, G, B, R, G, B, R],
    ("interleaved", 8): [R, G, B, R, G, B, R, G],
    ("interleaved", 11): [R, G, B, R, G, B, R, G, B, R, G],
}


@pytest.mark.parametrize(("convention", "n"), list(HAND_COLORS))
def test_color_of_matches_hand_written(convention: str, n: int) -> None:
    got = masks.color_of(n, 3, convention)
    assert got.dtype == torch.int64
    assert torch.equal(got, tensor(HAND_COLORS[convention, n], torch.int64))
    assert torch.equal(masks.color_of(n, 1, convention), torch.zeros(n, dtype=torch.int64))  # grey: one group


def test_color_of_default_is_contiguous() -> None:
    assert torch.equal(masks.color_of(7), tensor(HAND_COLORS["contiguous", 7], torch.int64))
    assert masks.COLOR_NAMES == ("R", "G", "B")


@pytest.mark.parametrize("n", range(3, 41))
def test_both_conventions_give_equal_group_sizes(n: int) -> None:
    # Equal sizes per colour are what makes the two conventions the same masks up to a permutation.
    sizes = [torch.bincount(masks.color_of(n, 3, c), minlength=3) for c in CONVENTIONS]
    assert torch.equal(sizes[0], sizes[1])
    assert sizes[0].sum().item() == n and sizes[0].max() - sizes[0].min() <= 1  # as equal as possible
    assert sizes[0][0] >= sizes[0][1] >= sizes[0][2]  # the spare maps go to R first, then G


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_color_of_rejects_too_few_channels(convention: str) -> None:
    with pytest.raises(ValueError, match=r"2 channel\(s\) cannot be split into 3 colour groups"):
        masks.color_of(2, 3, convention)
    with pytest.raises(ValueError, match=r"0 channel\(s\) cannot be split into 1 colour groups"):
        masks.color_of(0, 1, convention)


def test_color_of_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"color_convention must be 'contiguous' or 'interleaved', got 'rgb'"):
        masks.color_of(6, 3, "rgb")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"color_groups must be an int >= 1, got 0"):
        masks.color_of(6, 0)
    with pytest.raises(ValueError, match=r"color_groups must be an int >= 1, got True"):
        masks.color_of(6, True)
    with pytest.raises(ValueError, match=r"color_convention"):
        masks.check_color_convention("Contiguous")


def test_color_permutation_by_hand() -> None:
    assert masks.color_permutation(7, 3, "interleaved").tolist() == [0, 3, 6, 1, 4, 2, 5]
    assert masks.color_permutation(8, 3, "interleaved").tolist() == [0, 3, 6, 1, 4, 7, 2, 5]
    assert masks.color_permutation(7, 3, "contiguous").tolist() == list(range(7))
    assert masks.color_permutation(5, 1, "interleaved").tolist() == list(range(5))
    for n, convention in itertools.product(range(3, 20), CONVENTIONS):
        order = masks.color_permutation(n, 3, convention)
        assert sorted(order.tolist()) == list(range(n))  # a permutation
        assert torch.equal(masks.color_of(n, 3, convention)[order], masks.color_of(n, 3, "contiguous"))


# --- channel_mask: the connectivity at the kernel centre, written out by hand -----------------
# Rows are output maps, columns input maps; 1 = the output may read the input at the centre tap.

HAND_CHANNEL_MASKS = {
    # 4 inputs (R G B R) -> 7 outputs (R G B R G B R): seed 004's worked example, mask A as it prints it.
    (4, 7, "A", "interleaved"): [
        [0, 0, 0, 0],
        [1, 0, 0, 1],
        [1, 1, 0, 1],
        [0, 0, 0, 0],
        [1, 0, 0, 1],
        [1, 1, 0, 1],
        [0, 0, 0, 0],
    ],
    # Mask B adds each colour's own maps (seed 004 prints this matrix in two broken pieces).
    (4, 7, "B", "interleaved"): [
        [1, 0, 0, 1],
        [1, 1, 0, 1],
        [1, 1, 1, 1],
        [1, 0, 0, 1],
        [1, 1, 0, 1],
        [1, 1, 1, 1],
        [1, 0, 0, 1],
    ],
    # The same counts in contiguous thirds: inputs R R G B, outputs R R R G G B B.
    (4, 7, "A", "contiguous"): [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [1, 1, 1, 0],
    ],
    (4, 7, "B", "contiguous"): [
        [1, 1, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [1, 1, 1, 0],
        [1, 1, 1, 1],
        [1, 1, 1, 1],
    ],
    # The classic pictures: RGB in, RGB out.
    (3, 3, "A", "contiguous"): [
        [0, 0, 0],
        [1, 0, 0],
        [1, 1, 0],
    ],
    (3, 3, "B", "contiguous"): [
        [1, 0, 0],
        [1, 1, 0],
        [1, 1, 1],
    ],
    (3, 3, "A", "interleaved"): [
        [0, 0, 0],
        [1, 0, 0],
        [1, 1, 0],
    ],
    (3, 3, "B", "interleaved"): [
        [1, 0, 0],
        [1, 1, 0],
        [1, 1, 1],
    ],
    # 5 -> 8: inputs R R G G B, outputs R R R G G G B B.
    (5, 8, "A", "contiguous"): [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0],
    ],
    (5, 8, "B", "contiguous"): [
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
    ],
    # 5 -> 8: inputs R G B R G, outputs R G B R G B R G.
    (5, 8, "A", "interleaved"): [
        [0, 0, 0, 0, 0],
        [1, 0, 0, 1, 0],
        [1, 1, 0, 1, 1],
        [0, 0, 0, 0, 0],
        [1, 0, 0, 1, 0],
        [1, 1, 0, 1, 1],
        [0, 0, 0, 0, 0],
        [1, 0, 0, 1, 0],
    ],
    (5, 8, "B", "interleaved"): [
        [1, 0, 0, 1, 0],
        [1, 1, 0, 1, 1],
        [1, 1, 1, 1, 1],
        [1, 0, 0, 1, 0],
        [1, 1, 0, 1, 1],
        [1, 1, 1, 1, 1],
        [1, 0, 0, 1, 0],
        [1, 1, 0, 1, 1],
    ],
}


@pytest.mark.parametrize(("n_in", "n_out", "mask_type", "convention"), list(HAND_CHANNEL_MASKS))
def test_channel_mask_matches_hand_written(n_in: int, n_out: int, mask_type: str, convention: str) -> None:
    got = masks.channel_mask(n_in, n_out, mask_type, 3, convention)
    assert got.dtype == torch.float32 and got.shape == (n_out, n_in)
    assert torch.equal(got, tensor(HAND_CHANNEL_MASKS[n_in, n_out, mask_type, convention]))


def test_channel_mask_default_is_three_contiguous_groups() -> None:
    assert torch.equal(masks.channel_mask(4, 7, "A"), tensor(HAND_CHANNEL_MASKS[4, 7, "A", "contiguous"]))


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (3, 3), (4, 7), (5, 8)])
def test_channel_mask_with_one_group_is_the_grey_case(n_in: int, n_out: int, convention: str) -> None:
    assert torch.equal(masks.channel_mask(n_in, n_out, "A", 1, convention), torch.zeros(n_out, n_in))
    assert torch.equal(masks.channel_mask(n_in, n_out, "B", 1, convention), torch.ones(n_out, n_in))


def test_channel_mask_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"mask_type must be 'A' or 'B', got 'C'"):
        masks.channel_mask(3, 3, "C")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"2 channel\(s\) cannot be split into 3 colour groups"):
        masks.channel_mask(2, 6, "A")
    with pytest.raises(ValueError, match=r"color_convention"):
        masks.channel_mask(3, 6, "B", 3, "thirds")  # type: ignore[arg-type]


COUNT_PAIRS = [(3, 3), (3, 7), (4, 7), (5, 8), (7, 4), (8, 11), (10, 10), (12, 24), (13, 6), (24, 12), (3, 768)]


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize(("n_in", "n_out"), COUNT_PAIRS)
def test_conventions_are_equal_up_to_a_permutation(n_in: int, n_out: int, mask_type: str) -> None:
    permuted = {}
    for convention in CONVENTIONS:
        mask = masks.channel_mask(n_in, n_out, mask_type, 3, convention)
        rows = masks.color_permutation(n_out, 3, convention)
        cols = masks.color_permutation(n_in, 3, convention)
        permuted[convention] = mask[rows][:, cols]
    assert torch.equal(permuted["interleaved"], permuted["contiguous"])
    # After gathering each colour into a block the matrix is block lower-triangular.
    c_in, c_out = masks.color_of(n_in), masks.color_of(n_out)
    rule = c_in[None, :] < c_out[:, None] if mask_type == "A" else c_in[None, :] <= c_out[:, None]
    assert torch.equal(permuted["contiguous"], rule.float())


def test_conventions_differ_without_the_permutation() -> None:
    # The equivalence above is not trivial: the raw matrices differ.
    for mask_type in ("A", "B"):
        interleaved = masks.channel_mask(4, 7, mask_type, 3, "interleaved")
        assert not torch.equal(interleaved, masks.channel_mask(4, 7, mask_type, 3, "contiguous"))


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize(("n_in", "n_out", "k"), [(3, 3, 1), (3, 5, 3), (4, 7, 3), (5, 8, 5), (7, 4, 5)])
@pytest.mark.parametrize("groups", [1, 3])
def test_conv_mask_composes_spatial_and_channel_masks(
    n_in: int, n_out: int, k: int, mask_type: str, convention: str, groups: int
) -> None:
    mask = masks.conv_mask(n_in, n_out, k, mask_type, groups, convention)
    assert mask.shape == (n_out, n_in, k, k)
    centre = k // 2
    off_centre = mask.clone()
    off_centre[:, :, centre, centre] = 0.0  # spatial_mask(k, "A") is zero at the centre too
    assert torch.equal(off_centre, masks.spatial_mask(k, "A").expand(n_out, n_in, k, k))
    assert torch.equal(mask[:, :, centre, centre], masks.channel_mask(n_in, n_out, mask_type, groups, convention))
    if groups == 1:
        assert torch.equal(mask, masks.spatial_mask(k, mask_type).expand(n_out, n_in, k, k))


# --- MaskedConv2d and ChannelLayerNorm with colour groups ---------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize(("n_in", "n_out"), [(3, 6), (4, 7), (5, 8)])
def test_masked_conv_centre_tap_respects_the_channel_mask(
    n_in: int, n_out: int, mask_type: str, convention: str, make_model
) -> None:
    conv = make_model(MaskedConv2d, in_channels=n_in, out_channels=n_out, kernel_size=3, mask_type=mask_type,
                      color_groups=3, color_convention=convention)
    expected = masks.channel_mask(n_in, n_out, mask_type, 3, convention)
    kept = (conv.weight * conv.mask).detach()[:, :, 1, 1] != 0
    assert torch.equal(kept, expected.bool())
    assert "mask" not in conv.state_dict()  # non-persistent: a checkpoint cannot swap it
    assert f"color_convention={convention!r}" in repr(conv)
    # In the forward pass: output map o at the centre of a 3x3 image reads input map i at the centre
    # exactly when the mask allows it (d out[o] / d x[i] at the same pixel).
    x = torch.randn(1, n_in, 3, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    reads = torch.stack([torch.autograd.grad(conv(x)[0, o, 1, 1], x)[0][0, :, 1, 1] != 0 for o in range(n_out)])
    assert torch.equal(reads, expected.bool())


def test_masked_conv_masked_centre_weights_get_zero_gradient(make_model) -> None:
    conv = make_model(MaskedConv2d, in_channels=4, out_channels=7, kernel_size=3, mask_type="A",
                      color_groups=3, color_convention="interleaved")
    conv(torch.randn(2, 4, 5, 5, generator=torch.Generator().manual_seed(0))).square().sum().backward()
    closed = conv.mask == 0
    assert torch.equal(conv.weight.grad[closed], torch.zeros(int(closed.sum())))
    assert (conv.weight.grad[~closed] != 0).all()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_masked_conv_rejects_too_few_channels_for_three_colours(convention: str) -> None:
    with pytest.raises(ValueError, match=r"2 channel\(s\) cannot be split into 3 colour groups"):
        MaskedConv2d(2, 6, 3, "A", color_groups=3, color_convention=convention)
    with pytest.raises(ValueError, match=r"2 channel\(s\) cannot be split into 3 colour groups"):
        MaskedConv2d(6, 2, 3, "B", color_groups=3, color_convention=convention)
    with pytest.raises(ValueError, match=r"color_convention must be 'contiguous' or 'interleaved', got 'rgb'"):
        MaskedConv2d(3, 6, 3, "A", color_groups=3, color_convention="rgb")  # type: ignore[arg-type]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_channel_layer_norm_stays_inside_each_colour(convention: str) -> None:
    norm = ChannelLayerNorm(12, 3, convention)
    colour = masks.color_of(12, 3, convention)
    x = torch.randn(2, 12, 2, 2, generator=torch.Generator().manual_seed(0), requires_grad=True)
    out = norm(x)
    for group in range(3):
        part = out[:, colour == group]
        assert torch.allclose(part.mean(1), torch.zeros(2, 2, 2), atol=1e-5)  # normalised within the group
        (grad,) = torch.autograd.grad(part.square().sum(), x, retain_graph=True)
        assert torch.equal(grad[:, colour != group], torch.zeros_like(grad[:, colour != group]))  # reads no other colour
        assert (grad[:, colour == group] != 0).all()  # ... but every map of its own


@pytest.mark.parametrize(
    ("channels", "groups", "convention"),
    [(3, 3, "contiguous"), (3, 3, "interleaved"), (5, 3, "contiguous"), (4, 3, "interleaved"), (1, 1, "contiguous")],
)
def test_channel_layer_norm_rejects_one_map_groups(channels: int, groups: int, convention: str) -> None:
    message = rf"layer norm over {channels} channels in {groups} colour groups leaves a group with one map"
    with pytest.raises(ValueError, match=message):
        ChannelLayerNorm(channels, groups, convention)
    with pytest.raises(ValueError, match="leaves a group with one map"):
        make_norm("layer", channels, groups, convention)


# --- RGB models: the output head reads parameters in the masks' grouping ------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("levels", [2, 4, 256])
def test_head_groups_parameters_by_the_masks_colours(convention: str, levels: int, rgb_pixelcnn: RGBFactory) -> None:
    model = rgb_pixelcnn(levels=levels, hidden=12, color_convention=convention)
    p = model.likelihood.param_channels(3)
    assert torch.equal(model.output_order, masks.color_permutation(p, 3, convention))
    # After the reordering, the likelihood's block for channel c (its `levels` logits) holds only
    # maps that the masks assigned to colour c.
    colour_read = masks.color_of(p, 3, convention)[model.output_order]
    assert torch.equal(colour_read, torch.arange(3).repeat_interleave(levels))
    last = model.head[-1]
    assert torch.equal(last.mask[:, :, 0, 0], masks.channel_mask(12, p, "B", 3, convention))


def per_image_gradients(model: nn.Module, x: torch.Tensor, targets: list[tuple[int, int, int]]) -> list[torch.Tensor]:
    """For each target (c, i, j): d log_prob[b, c, i, j] / d x[b] for every image b, (B, C, H, W).

    One forward pass; images of a batch are independent (no batch norm), so each image's gradient
    is its own row of the batch gradient.
    """
    x = x.detach().clone().requires_grad_(True)
    log_prob = model.log_prob(x)
    return [torch.autograd.grad(log_prob[:, c, i, j].sum(), x, retain_graph=True)[0] for c, i, j in targets]


def all_targets(channels: int, h: int, w: int) -> list[tuple[int, int, int]]:
    return [(c, i, j) for i in range(h) for j in range(w) for c in range(channels)]


RGB_CAUSAL_CASES = [(convention, levels) for convention in CONVENTIONS for levels in (2, 4, 8, 256)]


@pytest.mark.parametrize(("mode", "norm"), [("eval", "none"), ("train", "layer")])
@pytest.mark.parametrize(("convention", "levels"), RGB_CAUSAL_CASES)
def test_rgb_sub_pixel_dependencies(convention: str, levels: int, mode: str, norm: str, rgb_pixelcnn: RGBFactory) -> None:
    """R reads no sub-pixel of its pixel; G reads the current R only; B the current R and G; never the future."""
    hidden = 12 if levels == 256 else 24  # 768 output maps for 256 levels: keep the rest small
    model = rgb_pixelcnn(levels=levels, hidden=hidden, norm=norm, color_convention=convention).train(mode == "train")
    h = w = 3
    x = rgb_images(4, (h, w), levels, seed=levels)
    targets = all_targets(3, h, w)
    for (c, i, j), grad in zip(targets, per_image_gradients(model, x, targets)):
        later = ~raster_order_mask((3, h, w), (c, i, j))  # the target itself and everything after it
        name = f"{masks.COLOR_NAMES[c]} at {(i, j)}"
        assert torch.equal(grad[:, later], torch.zeros_like(grad[:, later])), f"{name} reads its own value or the future"
        # Every earlier colour of the current pixel is read (a ReLU that is off for one probe image
        # may hide a path in that image, so the gradient is summed over the probes).
        reads = grad.abs().sum(0)  # (C, H, W)
        assert (reads[:c, i, j] != 0).all(), f"{name} ignores an earlier colour of its pixel"
        if (i, j) != (0, 0):
            past_pixels = raster_order_mask((1, h, w), (0, i, j))[0]
            assert (reads[:, past_pixels] != 0).any(), f"{(c, i, j)} ignores the earlier pixels"


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("norm", ["none", "layer"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_check_causality_finds_no_leak(convention: str, norm: str, mode: str, rgb_pixelcnn: RGBFactory) -> None:
    model = rgb_pixelcnn(levels=4, norm=norm, color_convention=convention).train(mode == "train")
    report = check_causality(model, (3, 3), n_probes=2, generator=torch.Generator().manual_seed(0))
    assert report.leaks == 0 and report.causal
    assert report.targets_with_past == 3 * 3 * 3 - 1
    assert report.targets_using_past == report.targets_with_past  # G at (0, 0) already reads R at (0, 0)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_one_colour_group_reads_no_channel_of_the_current_pixel(convention: str, rgb_pixelcnn: RGBFactory) -> None:
    model = rgb_pixelcnn(levels=4, color_groups=1, color_convention=convention, norm="layer")
    assert model.color_groups == 1 and model.config()["color_groups"] == 1
    h = w = 3
    x = rgb_images(3, (h, w), 4)
    targets = all_targets(3, h, w)
    for (c, i, j), grad in zip(targets, per_image_gradients(model, x, targets)):
        after_pixel_start = ~raster_order_mask((3, h, w), (0, i, j))  # the whole current pixel and the future
        leak = grad[:, after_pixel_start]
        assert torch.equal(leak, torch.zeros_like(leak)), f"{(c, i, j)} reads its own pixel or the future"
        if (i, j) != (0, 0):
            assert (grad != 0).any(), f"{(c, i, j)} ignores its past"
    report = check_causality(model, (3, 3), generator=torch.Generator().manual_seed(0))
    assert report.causal
    assert report.targets_using_past == report.targets_with_past - 2  # G and B at (0, 0) have a past they may not read


# --- the classic mistake: masks in one grouping, output head in the other -----------------------


@pytest.mark.parametrize(
    ("mask_convention", "head_convention"), [("contiguous", "interleaved"), ("interleaved", "contiguous")]
)
def test_head_grouping_that_disagrees_with_the_masks_leaks(
    mask_convention: str, head_convention: str, rgb_pixelcnn: RGBFactory
) -> None:
    correct = rgb_pixelcnn(levels=2, hidden=12, color_convention=mask_convention)
    broken = rgb_pixelcnn(levels=2, hidden=12, color_convention=mask_convention)
    p = broken.likelihood.param_channels(3)
    broken.output_order = masks.color_permutation(p, 3, head_convention)
    generator = torch.Generator().manual_seed(0)
    assert check_causality(correct, (3, 3), generator=generator).leaks == 0
    assert check_causality(broken, (3, 3), generator=generator).leaks > 0
    # Concretely: R's logits now include maps of a later colour, which read the current R, so
    # log p(R) depends on the very value it scores.
    x = rgb_images(4, (3, 3), 2, seed=1)
    (grad,) = per_image_gradients(broken, x, [(0, 1, 1)])
    assert (grad[:, 0, 1, 1] != 0).any()


# --- bad inputs -------------------------------------------------------------------------------


def test_pixelcnn_rejects_bad_colour_settings() -> None:
    with pytest.raises(ValueError, match=r"color_groups must be 1 .* or in_channels=2 .* got 3"):
        models.PixelCNN(in_channels=2, color_groups=3)
    with pytest.raises(ValueError, match=r"color_groups must be 1 .* or in_channels=3 .* got 2"):
        models.PixelCNN(in_channels=3, color_groups=2)
    with pytest.raises(ValueError, match=r"color_convention must be 'contiguous' or 'interleaved', got 'thirds'"):
        models.PixelCNN(in_channels=3, hidden=12, color_convention="thirds")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"levels must be >= 2, got 1"):
        models.PixelCNN(in_channels=3, levels=1)
    with pytest.raises(ValueError, match=r"hidden must be >= 6 for 3 colour group\(s\) .*got 4"):
        models.PixelCNN(in_channels=3, hidden=4)  # the blocks' hidden // 2 = 2 maps cannot carry three colours
    with pytest.raises(ValueError, match=r"hidden must be >= 12 for 3 colour group\(s\) with norm=layer.*got 6"):
        models.PixelCNN(in_channels=3, hidden=6, norm="layer")  # 3 maps in the blocks: one per colour
    models.PixelCNN(in_channels=3, hidden=6)  # the smallest width that gives every colour its own maps
    models.PixelCNN(in_channels=3, hidden=12, norm="layer")


def test_rgb_model_rejects_grey_images(rgb_pixelcnn: RGBFactory) -> None:
    model = rgb_pixelcnn(hidden=12)
    with pytest.raises(ValueError, match=r"x must have 3 channel\(s\), got 1"):
        model(torch.zeros(1, 1, 3, 3))


# --- checkpoints --------------------------------------------------------------------------------


@pytest.mark.parametrize(("convention", "groups"), [("contiguous", None), ("interleaved", None), ("interleaved", 1)])
def test_config_rebuilds_a_colour_model(convention: str, groups: int | None, tmp_path, rgb_pixelcnn: RGBFactory) -> None:
    model = rgb_pixelcnn(levels=4, hidden=12, norm="layer", color_convention=convention, color_groups=groups).eval()
    config = model.config()
    assert config["color_groups"] == (3 if groups is None else 1)
    assert config["color_convention"] == convention
    assert json.loads(json.dumps(config)) == config  # plain Python values only
    rebuilt = models.from_config(models.model_name(model), config).eval()
    rebuilt.load_state_dict(model.state_dict())
    x = rgb_images(2, (3, 3), 4)
    assert torch.equal(rebuilt(x), model(x))
    assert torch.equal(rebuilt.output_order, model.output_order)
    loaded, _ = train.load_model(train.save_checkpoint(tmp_path / "colour.pt", model))
    assert torch.equal(loaded(x), model(x))


def test_convention_must_come_from_the_config(rgb_pixelcnn: RGBFactory) -> None:
    # The same weights under the other convention load without complaint (the masks are not
    # saved) but are a different model: that is why the config records the convention ...
    model = rgb_pixelcnn(levels=4, hidden=12, color_convention="interleaved").eval()
    other = models.from_config("pixelcnn", dict(model.config(), color_convention="contiguous")).eval()
    other.load_state_dict(model.state_dict())
    x = rgb_images(2, (3, 3), 4)
    assert not torch.allclose(other(x), model(x))
    # ... and why loading a checkpoint into a model of the other convention is refused.
    with pytest.raises(ValueError, match="color_convention"):
        train.load_into(other, {"name": "pixelcnn", "config": model.config(), "model": model.state_dict()})


# --- coloured MNIST -----------------------------------------------------------------------------


def test_colorize_shape_range_and_formula() -> None:
    grey = torch.rand(5, 1, 4, 6, generator=torch.Generator().manual_seed(0))
    grey[:, :, 0, 0], grey[:, :, 0, 1] = 0.0, 1.0
    rgb = data.colorize(grey, torch.Generator().manual_seed(3))
    assert rgb.shape == (5, 3, 4, 6) and rgb.dtype == torch.float32
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    background, foreground = rgb[:, :, 0, 0], rgb[:, :, 0, 1]
    assert (background <= 0.5).all() and (foreground >= 0.5).all()
    expected = background[:, :, None, None] + (foreground - background)[:, :, None, None] * grey
    assert torch.allclose(rgb, expected, atol=1e-6)
    assert not torch.allclose(rgb[0, :, 0, 1], rgb[1, :, 0, 1])  # each image has its own colour


def test_colorize_is_reproducible_with_a_generator() -> None:
    grey = torch.rand(4, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    first = data.colorize(grey, torch.Generator().manual_seed(7))
    assert torch.equal(first, data.colorize(grey, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, data.colorize(grey, torch.Generator().manual_seed(8)))


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (2, 4, 4), (4, 4), (2, 2, 4, 4)])
def test_colorize_rejects_non_grey_batches(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"images must have shape \(N, 1, H, W\), got " + re.escape(str(shape))):
        data.colorize(torch.zeros(shape))


@pytest.mark.parametrize("levels", [2, 4, 256])
def test_colored_mnist_is_on_the_grid_and_deterministic(levels: int) -> None:
    split = {name: data.load_dataset(data.COLORED, name, levels) for name in ("train", "test")}
    for name, dataset in split.items():
        assert dataset.name == data.COLORED and dataset.levels == levels
        assert dataset.images.shape[1:] == (3, 28, 28) and dataset.images.dtype == torch.float32
        scaled = dataset.images * (levels - 1)
        assert torch.equal(scaled, scaled.round()) and dataset.images.min() >= 0 and dataset.images.max() <= 1
        again = data.load_dataset(data.COLORED, name, levels)
        assert torch.equal(again.images, dataset.images) and torch.equal(again.labels, dataset.labels)
    assert (len(split["train"]), len(split["test"])) == (4500, 500)
    n = len(split["test"])
    assert not torch.equal(split["train"].images[:n], split["test"].images)
    if levels > 2:
        # Real colour: the channels of a pixel differ somewhere (at 2 levels colour mostly binarises away).
        assert (split["train"].images[:, 0] != split["train"].images[:, 1]).float().mean() > 0.05


# --- sampling -----------------------------------------------------------------------------------


def all_binary_rgb_images(h: int, w: int) -> torch.Tensor:
    """Every (3, h, w) binary image once, (2**(3hw), 3, h, w); image k's bits in raster order spell k."""
    d = 3 * h * w
    bits = (torch.arange(2**d)[:, None] >> torch.arange(d - 1, -1, -1)) & 1  # (N, d), rows -> columns -> channels
    return bits.view(-1, h, w, 3).permute(0, 3, 1, 2).float()


def image_index(images: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`all_binary_rgb_images`: (N, 3, h, w) binary -> (N,) int64 index."""
    bits = images.permute(0, 2, 3, 1).flatten(1).long()
    return (bits << torch.arange(bits.shape[1] - 1, -1, -1)).sum(1)


def sharp_rgb_model(rgb_pixelcnn: RGBFactory) -> models.PixelCNN:
    """A 2-level RGB PixelCNN whose random weights are scaled up, so that its distribution over the
    4,096 2x2 images is far from uniform (a sampler that draws the wrong thing shows up clearly)."""
    model = rgb_pixelcnn(levels=2, hidden=12, n_layers=1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(3.0)
    return model.eval()


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    return 0.5 * (p - q).abs().sum().item()


def histogram(index: torch.Tensor, n_bins: int) -> torch.Tensor:
    return torch.bincount(index, minlength=n_bins).double() / index.numel()


def noise_bound(p: torch.Tensor, n: int, generator: torch.Generator, repeats: int = 20) -> float:
    """A bound on the total variation between ``n`` exact draws from ``p`` and ``p``: mean + 6 std of
    ``repeats`` simulated empirical distributions."""
    tv = torch.tensor([total_variation(histogram(torch.multinomial(p, n, True, generator=generator), len(p)), p)
                       for _ in range(repeats)])
    return (tv.mean() + 6 * tv.std()).item()


def test_sampling_is_exact_on_tiny_rgb_images(rgb_pixelcnn: RGBFactory) -> None:
    model = sharp_rgb_model(rgb_pixelcnn)
    images = all_binary_rgb_images(2, 2)
    with torch.no_grad():
        p = model.log_prob(images).double().sum((1, 2, 3)).exp()
    assert abs(p.sum().item() - 1.0) < 1e-4
    assert -(p * p.log2()).sum() < 8.0  # entropy in bits, far below the uniform 12
    assert torch.equal(image_index(images), torch.arange(len(images)))
    n = 20_000
    generator = torch.Generator().manual_seed(0)
    bound = noise_bound(p.float(), n, generator)
    drawn = torch.cat([sampling.sample(model, n // 4, (2, 2), generator=generator) for _ in range(4)])
    assert drawn.shape == (n, 3, 2, 2)
    tv = total_variation(histogram(image_index(drawn), len(p)), p)
    assert tv < bound, f"samples are {tv:.4f} from the model's distribution (noise bound {bound:.4f})"
    # The test has power: samples drawn at temperature 1.3 are caught.
    hot = sampling.sample(model, n, (2, 2), temperature=1.3, generator=generator)
    assert total_variation(histogram(image_index(hot), len(p)), p) > 2 * bound


def test_sampling_visits_r_g_b_of_a_pixel_before_the_next_pixel(rgb_pixelcnn: RGBFactory) -> None:
    model = rgb_pixelcnn(levels=4, hidden=12, n_layers=1)
    trace = sampling.sampling_trace(model, 3, (2, 3), generator=torch.Generator().manual_seed(0))
    assert trace.positions[:4] == [(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0, 1)]
    assert trace.positions == [(c, i, j) for i in range(2) for j in range(3) for c in range(3)]
    assert trace.shape == (3, 3, 2, 3) and trace.frame(0).shape == (3, 3, 2, 3) and trace.probs.shape == (18, 3, 4)
    assert torch.allclose(trace.probs.sum(-1), torch.ones(18, 3))
    final = trace.frame(-1)
    with torch.no_grad():
        log_prob = model.log_prob(final)
    for t, (c, i, j) in enumerate(trace.positions):
        step = trace.frame(t + 1) - trace.frame(t)
        assert torch.equal(trace.frame(t + 1)[:, c, i, j], trace.values[t])  # the drawn value is written ...
        step[:, c, i, j] = 0.0
        assert torch.equal(step, torch.zeros_like(step))  # ... and nothing else changes
        # The distribution shown at each step is the model's conditional for that sub-pixel.
        level = (trace.values[t] * 3).round().long()
        shown = trace.probs[t].gather(1, level[:, None]).squeeze(1)
        assert torch.allclose(shown, log_prob[:, c, i, j].exp(), atol=1e-5)
