"""Gated PixelCNN: stack masks, the cropped stack convolutions, gates, no blind spot, conditioning.

The central proofs are by autograd over every sub-pixel of small images: nothing later in the
order ever reaches a log-probability, and once the model is deep enough for the image every
earlier sub-pixel does (no blind spot), for grey and RGB, with and without dilation and labels.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from pixelcnn_edu import layers, masks, models
from pixelcnn_edu import receptive_field as rf


def t(rows: list[list[int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


# ----------------------------------------------------------------------------- masks


def test_stack_masks_by_hand() -> None:
    assert torch.equal(masks.stack_mask(3, "vertical", "A"), t([[1, 1, 1], [0, 0, 0], [0, 0, 0]]))
    assert torch.equal(masks.stack_mask(3, "vertical", "B"), t([[1, 1, 1], [1, 1, 1], [0, 0, 0]]))
    assert torch.equal(masks.stack_mask(3, "horizontal", "A"), t([[0, 0, 0], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(masks.stack_mask(3, "horizontal", "B"), t([[0, 0, 0], [1, 1, 0], [0, 0, 0]]))
    five = masks.stack_mask(5, "vertical", "A")
    assert five[:2].eq(1).all() and five[2:].eq(0).all()
    assert torch.equal(masks.stack_mask(5, "horizontal", "B")[2], t([[1, 1, 1, 0, 0]])[0])


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_the_two_stacks_cover_exactly_the_masked_window(k: int, mask_type: str) -> None:
    """Vertical and horizontal footprints are disjoint and together make the PixelCNN mask."""
    v = masks.stack_mask(k, "vertical", mask_type if mask_type == "A" else "A")
    h = masks.stack_mask(k, "horizontal", mask_type)
    assert not (v * h).any()
    assert torch.equal(v + h, masks.spatial_mask(k, mask_type))


def test_horizontal_centre_follows_the_colour_rule_and_vertical_ignores_it() -> None:
    full = masks.stack_conv_mask(3, 6, 3, "horizontal", "A", color_groups=3)
    assert torch.equal(full[:, :, 1, 1], masks.channel_mask(3, 6, "A", 3))
    assert full[:, :, 1, 0].eq(1).all() and full[:, :, 1, 2].eq(0).all() and full[:, :, 0].eq(0).all()
    vertical = masks.stack_conv_mask(3, 6, 3, "vertical", "B", color_groups=3)
    assert torch.equal(vertical, masks.stack_mask(3, "vertical", "B").expand(6, 3, 3, 3))


@pytest.mark.parametrize("convention", ["contiguous", "interleaved"])
def test_gate_halves_are_coloured_alike(convention: str) -> None:
    mask = masks.channel_mask(5, 14, "B", 3, convention, out_copies=2)
    tanh_half, sigmoid_half = mask[:7], mask[7:]
    assert torch.equal(tanh_half, sigmoid_half)
    assert torch.equal(tanh_half, masks.channel_mask(5, 7, "B", 3, convention))
    with pytest.raises(ValueError, match="cannot be split into 2 equal copies"):
        masks.channel_mask(5, 7, "B", 3, out_copies=2)


@pytest.mark.parametrize(
    "args, error, pattern",
    [
        ((3, "diagonal", "A"), ValueError, "stack must be 'vertical' or 'horizontal'"),
        ((3, "vertical", "C"), ValueError, "mask_type must be 'A' or 'B'"),
        ((4, "vertical", "A"), ValueError, "positive odd number"),
        ((3.0, "vertical", "A"), TypeError, "kernel_size must be an int"),
    ],
)
def test_stack_mask_bad_arguments(args: tuple, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        masks.stack_mask(*args)


# ----------------------------------------------------------------------------- StackConv2d


@pytest.mark.parametrize("stack", ["vertical", "horizontal"])
@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("k, dilation", [(3, 1), (3, 2), (5, 1), (7, 1), (5, 3)])
def test_stack_conv_equals_the_full_masked_window(stack: str, mask_type: str, k: int, dilation: int) -> None:
    """The cropped kernel with its padding computes exactly a masked k x k 'same' convolution."""
    torch.manual_seed(0)
    conv = layers.StackConv2d(3, 6, k, stack, mask_type, dilation=dilation, color_groups=3, out_copies=2)
    full_mask = masks.stack_conv_mask(3, 6, k, stack, mask_type, 3, out_copies=2)
    rows, cols = full_mask.sum((0, 1)).gt(0).any(1).nonzero(), full_mask.sum((0, 1)).gt(0).any(0).nonzero()
    full_weight = torch.zeros(6, 3, k, k)
    full_weight[:, :, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = conv.weight.detach()
    x = torch.randn(2, 3, 9, 8)
    expected = F.conv2d(x, full_weight * full_mask, conv.bias.detach(), padding=dilation * (k // 2), dilation=dilation)
    assert conv(x).shape == (2, 6, 9, 8)
    torch.testing.assert_close(conv(x), expected)


def test_stack_conv_kernel_shapes() -> None:
    assert layers.StackConv2d(1, 4, 7, "vertical", "A").weight.shape[2:] == (3, 7)
    assert layers.StackConv2d(4, 4, 3, "vertical", "B").weight.shape[2:] == (2, 3)
    assert layers.StackConv2d(1, 4, 7, "horizontal", "A").weight.shape[2:] == (1, 3)  # grey: the centre is cut off
    assert layers.StackConv2d(3, 6, 7, "horizontal", "A", color_groups=3).weight.shape[2:] == (1, 4)  # G reads R
    assert layers.StackConv2d(4, 4, 3, "horizontal", "B").weight.shape[2:] == (1, 2)


def test_vertical_mask_a_is_strictly_above_the_row() -> None:
    """Output row i reads nothing of row i or below: the shift of the vertical stack."""
    conv = layers.StackConv2d(1, 2, 3, "vertical", "A")
    field = rf.input_gradient(conv, torch.randn(1, 1, 6, 6), lambda out: out[:, :, 3, 2])[0]
    assert field[3:].eq(0).all() and field[2, 1:4].ne(0).all() and field[:2].eq(0).all()


def test_masked_taps_get_no_gradient() -> None:
    conv = layers.StackConv2d(3, 3, 3, "horizontal", "A", color_groups=3)  # centre: G reads R, B reads R and G
    conv(torch.randn(2, 3, 4, 4)).pow(2).sum().backward()
    centre = conv.weight.grad[:, :, 0, -1]
    assert torch.equal(centre != 0, masks.channel_mask(3, 3, "A", 3).bool())
    assert conv.weight.grad[:, :, 0, 0].ne(0).all()


def test_a_first_layer_that_reads_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="reads nothing"):
        layers.StackConv2d(1, 2, 1, "vertical", "A")
    with pytest.raises(ValueError, match="dilation must be >= 1"):
        layers.StackConv2d(1, 2, 3, "vertical", "B", dilation=0)


def test_gate_is_tanh_times_sigmoid() -> None:
    x = torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(layers.gate(x), torch.tanh(x[:, :3]) * torch.sigmoid(x[:, 3:]))
    with pytest.raises(ValueError, match="even number of channels"):
        layers.gate(torch.randn(1, 5, 2, 2))


def test_gated_block_residual_needs_matching_channels() -> None:
    with pytest.raises(ValueError, match="in_channels == channels"):
        layers.GatedBlock(1, 8, 3, "A", residual=True)


# ----------------------------------------------------------------------------- causality and coverage


def gated(seed: int = 0, **overrides: Any) -> models.GatedPixelCNN:
    kwargs: dict[str, Any] = dict(in_channels=1, levels=2, hidden=6, n_layers=4, kernel_size=3, input_kernel_size=3)
    kwargs.update(overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = models.GatedPixelCNN(**kwargs)
        for module in model.modules():  # give the class biases (zero at the start) something to do
            if isinstance(module, torch.nn.Embedding):
                torch.nn.init.normal_(module.weight)
            if isinstance(module, layers.ClassBias) and module.mix is not None:
                torch.nn.init.normal_(module.mix.weight)
    return model


def labels_for(model: models.AutoregressiveModel, n: int = 2) -> torch.Tensor | None:
    return None if model.n_classes is None else torch.arange(n) % model.n_classes


GATED_CASES = [
    dict(),
    dict(levels=4),
    dict(dilations=[1, 2, 1, 2]),
    dict(n_classes=3),
    dict(in_channels=3, levels=4, hidden=9),
    dict(in_channels=3, levels=2, hidden=9, color_convention="interleaved"),
    dict(in_channels=3, levels=8, dilations=[1, 2, 1, 1], n_classes=4, hidden=10),
    dict(kernel_size=5, input_kernel_size=5, n_layers=2),
    dict(skips=False),
    dict(in_channels=3, levels=4, hidden=9, n_classes=3, skips=False),
    dict(in_channels=3, levels=4, hidden=9, n_classes=3, class_maps=2),
]


def _case_id(case: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in case.items()) or "grey"


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("case", GATED_CASES, ids=_case_id)
def test_gated_pixelcnn_is_causal_and_sees_every_earlier_sub_pixel(case: dict[str, Any], mode: str) -> None:
    model = gated(**case).train(mode == "train")
    # The head's ReLUs can switch a path off for one probe image; four probes keep every path visible.
    report = rf.check_causality(model, (5, 5), n_probes=4, y=labels_for(model, 4), generator=torch.Generator().manual_seed(0))
    assert report.leaks == 0
    assert report.missed_past == 0, "a blind spot: some earlier sub-pixel never reaches its target"
    assert report.causal and report.sees_all_past


def test_pixelcnn_misses_its_blind_spot_however_deep() -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = models.PixelCNN(1, 2, hidden=8, n_layers=8, input_kernel_size=3)
    report = rf.check_causality(model, (5, 5))
    assert report.causal and report.missed_past > 0 and not report.sees_all_past


@pytest.mark.parametrize("n_layers, reaches", [(3, False), (4, True)])
def test_the_last_pixel_of_the_previous_row_needs_enough_layers(n_layers: int, reaches: bool) -> None:
    """Pixel (i, 0) sees (i - 1, W - 1) once the vertical stack is W - 1 columns wide to the right:
    1 column from the 3x3 first layer plus 1 per later layer, so 4 later layers for W = 6."""
    model = gated(n_layers=n_layers)
    x = rf.model_inputs(model, 2, (4, 6), torch.Generator().manual_seed(0))
    dep = rf.log_prob_dependencies(model, x, (0, 3, 0))[0]
    assert bool(dep[2, 5] != 0) is reaches
    assert dep[2, :5].ne(0).all() and dep[3:].eq(0).all()


def test_rgb_channels_inside_the_current_pixel() -> None:
    model = gated(in_channels=3, levels=4)
    x = rf.model_inputs(model, 2, (4, 4), torch.Generator().manual_seed(0))
    for c in range(3):
        dep = rf.log_prob_dependencies(model, x, (c, 2, 1))
        assert dep[:c, 2, 1].ne(0).all(), "each colour reads the earlier colours of its own pixel"
        assert dep[c:, 2, 1].eq(0).all(), "and never its own value or a later colour"


# ----------------------------------------------------------------------------- conditioning


@pytest.mark.parametrize("cls", [models.GatedPixelCNN, models.PixelCNN])
def test_labels_change_the_output_and_only_their_own_image(cls: type) -> None:
    kwargs = dict(in_channels=1, levels=2, hidden=8, n_layers=2, input_kernel_size=3, n_classes=10)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(**kwargs)
    x = rf.model_inputs(model, 3, (5, 5), torch.Generator().manual_seed(1))
    y = torch.tensor([1, 2, 3])
    before = model(x, y)
    # The class biases start at zero, so at initialisation the labels change nothing.
    assert torch.equal(model(x, torch.tensor([4, 7, 9])), before)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding):
                module.weight.normal_(generator=torch.Generator().manual_seed(2))
    after = model(x, y)
    other = model(x, torch.tensor([1, 7, 9]))  # change the labels of images 1 and 2 only
    assert not torch.allclose(after[1], other[1]), "a label changes its own image's distribution"
    assert torch.equal(after[0], other[0]), "image 0's output ignores the other images' labels"


@pytest.mark.parametrize("cls", [models.GatedPixelCNN, models.PixelCNN])
def test_bad_labels_give_clear_errors(cls: type) -> None:
    model = cls(in_channels=1, levels=2, hidden=8, n_layers=1, input_kernel_size=3, n_classes=10)
    x = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"class-conditional \(n_classes=10\): pass labels y"):
        model(x)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 9\]"):
        model(x, torch.tensor([0, 10]))
    with pytest.raises(ValueError, match=r"y must lie in \[0, 9\]"):
        model.log_prob(x, torch.tensor([-1, 3]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        model(x, torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="integer tensor of class labels"):
        model(x, torch.tensor([1.0, 2.0]))


# ----------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(in_channels=2, color_groups=3), ValueError, "color_groups must be 1"),
        (dict(in_channels=3, hidden=2), ValueError, "hidden and skip_channels must be >= 3"),
        (dict(skips=0), TypeError, "skips must be True or False"),
        (dict(input_kernel_size=1), ValueError, "input_kernel_size must be >= 3"),
        (dict(n_layers=2, dilations=[1]), ValueError, "one entry per layer"),
        (dict(n_layers=2, dilations=[1, 0]), ValueError, "dilations must be >= 1"),
        (dict(n_classes=0), ValueError, "n_classes must be >= 1"),
        (dict(levels=1), ValueError, "levels must be >= 2"),
        (dict(kernel_size=4), ValueError, "positive odd number"),
        (dict(color_convention="diagonal"), ValueError, "color_convention must be"),
    ],
)
def test_bad_gated_arguments(kwargs: dict[str, Any], error: type[Exception], pattern: str) -> None:
    base = dict(in_channels=1, levels=2, hidden=4, n_layers=1)
    with pytest.raises(error, match=pattern):
        models.GatedPixelCNN(**{**base, **kwargs})


def test_gated_config_keeps_every_argument() -> None:
    model = models.GatedPixelCNN(3, 4, hidden=6, n_layers=2, kernel_size=5, input_kernel_size=3, dilations=[1, 2],
                                 skip_channels=9, skips=False, n_classes=10, color_convention="interleaved")
    config = model.config()
    for key, value in dict(hidden=6, n_layers=2, kernel_size=5, input_kernel_size=3, dilations=[1, 2],
                           skip_channels=9, skips=False, n_classes=10, color_groups=3, color_convention="interleaved").items():
        assert config[key] == value
    assert models.model_name(model) == "gated"


# ----------------------------------------------------------------------------- receptive-field helpers


def test_stack_fields_grow_as_the_stacks_should() -> None:
    model = gated(n_layers=2)
    fields = rf.stack_receptive_fields(model, (7, 7), (4, 3), generator=torch.Generator().manual_seed(0))
    assert fields.shape == (3, 2, 7, 7)
    vertical, horizontal = fields[:, 0] != 0, fields[:, 1] != 0
    assert not vertical[:, 4:].any(), "the vertical stack stays strictly above the row"
    assert vertical[0, 3, 2:5].all() and not vertical[0, :3].any()  # 3x3 first layer: one row, three columns
    assert vertical[2, 1:4, 0:7].sum() == vertical[2].sum()  # later layers add a row above, a column each side
    for layer in range(3):  # the row up to the pixel, one more column to the left per layer, never the pixel itself
        assert horizontal[layer, 4, 2 - layer : 3].all() and not horizontal[layer, 4, : 2 - layer].any()
    assert not horizontal[:, 4, 3:].any() and not horizontal[:, 5:].any()
    assert (vertical <= horizontal).all(), "the link puts all of the vertical stack into the horizontal one"


def test_compare_receptive_fields_probes_each_model_alike() -> None:
    pixelcnn = models.PixelCNN(1, 2, hidden=8, n_layers=3, input_kernel_size=3)
    fields = rf.compare_receptive_fields({"PixelCNN": pixelcnn, "Gated": gated(n_layers=3)}, (7, 7), (5, 3))
    assert list(fields) == ["PixelCNN", "Gated"] and all(f.shape == (1, 7, 7) for f in fields.values())
    assert rf.blind_spot(fields["PixelCNN"], (5, 3)).any()
    assert not rf.blind_spot(fields["Gated"], (5, 3)).any()


def test_without_skips_the_head_reads_the_last_horizontal_stack() -> None:
    with_skips, without = gated(), gated(skips=False)
    assert all(layer.skip is not None for layer in with_skips.layers)
    assert all(layer.skip is None for layer in without.layers)
    saved = sum(p.numel() for layer in with_skips.layers for p in layer.skip.parameters())
    head_in = with_skips.head[1].weight.shape[1] - without.head[1].weight.shape[1]  # 2p -> p input maps
    head_saved = head_in * with_skips.head[1].weight.shape[0]
    def count(model: torch.nn.Module) -> int:
        return sum(p.numel() for p in model.parameters())

    assert count(with_skips) - count(without) == saved + head_saved
    x = torch.randint(0, 2, (2, 1, 5, 5)).float()
    v = h = 2 * x - 1  # what forward feeds the network
    for layer in without.layers:
        v, h, skip = layer(v, h)
        assert skip is None
    assert torch.equal(without(x), without.head(h))
