"""layers: masked convolutions and linear layers, per-pixel LayerNorm, residual blocks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn_edu import layers, masks


def _seeded_conv(*args, seed: int = 0, **kwargs) -> layers.MaskedConv2d:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return layers.MaskedConv2d(*args, **kwargs)


@pytest.mark.parametrize("dilation", [1, 2, 3])
@pytest.mark.parametrize("kernel_size", [1, 3, 5, 7])
def test_masked_conv_keeps_spatial_size(kernel_size: int, dilation: int, generator: torch.Generator) -> None:
    conv = _seeded_conv(2, 5, kernel_size, "B", dilation=dilation)
    x = torch.randn(3, 2, 9, 7, generator=generator)  # H != W catches swapped paddings
    assert conv(x).shape == (3, 5, 9, 7)


def test_masked_conv_mask_buffer_shape_and_values() -> None:
    conv = layers.MaskedConv2d(2, 4, 5, "A")
    assert conv.mask.shape == (4, 2, 5, 5)
    for o in range(4):
        for i in range(2):
            assert torch.equal(conv.mask[o, i], masks.spatial_mask(5, "A"))
    assert "mask_type='A'" in repr(conv)


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_weights_get_exactly_zero_gradient(mask_type: str, generator: torch.Generator) -> None:
    conv = _seeded_conv(3, 4, 5, mask_type)
    x = torch.randn(2, 3, 6, 6, generator=generator)
    (conv(x) ** 2).sum().backward()
    grad = conv.weight.grad
    assert grad is not None
    assert torch.equal(grad[conv.mask == 0], torch.zeros(int((conv.mask == 0).sum())))
    assert (grad[conv.mask == 1] != 0).all()  # kept taps do learn


def test_mask_is_not_in_state_dict() -> None:
    conv = layers.MaskedConv2d(1, 2, 3, "A")
    assert set(conv.state_dict()) == {"weight", "bias"}
    assert "mask" in dict(conv.named_buffers())


def test_loading_a_state_dict_cannot_change_the_mask() -> None:
    conv_b = layers.MaskedConv2d(1, 2, 3, "B")
    conv_a = layers.MaskedConv2d(1, 2, 3, "A")
    conv_b.load_state_dict(conv_a.state_dict())  # weights of an A layer into a B layer
    assert torch.equal(conv_b.mask[0, 0], masks.spatial_mask(3, "B"))
    forged = dict(conv_a.state_dict(), mask=torch.ones(2, 1, 3, 3))
    with pytest.raises(RuntimeError, match="mask"):
        conv_b.load_state_dict(forged)  # strict loading rejects a mask entry
    conv_b.load_state_dict(forged, strict=False)
    assert torch.equal(conv_b.mask[0, 0], masks.spatial_mask(3, "B"))


def test_mask_applied_in_forward_after_weights_are_overwritten(generator: torch.Generator) -> None:
    conv = layers.MaskedConv2d(2, 3, 3, "A", bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)  # someone writes unmasked values into the weight
    x = torch.randn(1, 2, 5, 5, generator=generator)
    expected = F.conv2d(x, torch.ones(3, 2, 3, 3) * masks.spatial_mask(3, "A"), padding=1)
    unmasked = F.conv2d(x, torch.ones(3, 2, 3, 3), padding=1)
    out = conv(x)
    assert torch.allclose(out, expected, atol=1e-6)
    assert not torch.allclose(out, unmasked, atol=1e-3)


@pytest.mark.parametrize(("mask_type", "sees_centre"), [("A", False), ("B", True)])
def test_masked_conv_output_never_reads_later_pixels(mask_type: str, sees_centre: bool) -> None:
    conv = layers.MaskedConv2d(1, 1, 3, mask_type, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.zeros(1, 1, 5, 5, requires_grad=True)
    conv(x)[0, 0, 2, 2].backward()
    reached = x.grad[0, 0] != 0
    expected = torch.zeros(5, 5, dtype=torch.bool)
    expected[1, 1:4] = True
    expected[2, 1] = True
    expected[2, 2] = sees_centre
    assert torch.equal(reached, expected)


@pytest.mark.parametrize("dilation", [0, -1])
def test_masked_conv_rejects_bad_dilation(dilation: int) -> None:
    with pytest.raises(ValueError, match=rf"dilation must be >= 1, got {dilation}"):
        layers.MaskedConv2d(1, 1, 3, "A", dilation=dilation)


def test_masked_conv_rejects_bad_kernel_and_mask_type() -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        layers.MaskedConv2d(1, 1, 4, "A")
    with pytest.raises(ValueError, match="mask_type"):
        layers.MaskedConv2d(1, 1, 3, "C")  # type: ignore[arg-type]


def test_masked_linear_masks_and_zero_gradients(generator: torch.Generator) -> None:
    mask = torch.tensor([[1, 0, 0], [1, 1, 0]])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        lin = layers.MaskedLinear(mask)
    assert (lin.in_features, lin.out_features) == (3, 2)
    assert set(lin.state_dict()) == {"weight", "bias"}
    x = torch.randn(4, 3, generator=generator)
    with torch.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.zero_()
    assert torch.allclose(lin(x), torch.stack([x[:, 0], x[:, 0] + x[:, 1]], dim=1))
    lin(x).sum().backward()
    assert torch.equal(lin.weight.grad[mask == 0], torch.zeros(3))


def test_masked_linear_rejects_non_2d_mask() -> None:
    with pytest.raises(ValueError, match=r"mask must be 2-D.*\(3,\)"):
        layers.MaskedLinear(torch.ones(3))


def test_channel_layer_norm_normalises_each_pixel(generator: torch.Generator) -> None:
    norm = layers.ChannelLayerNorm(6)
    x = 3.0 * torch.randn(2, 6, 4, 5, generator=generator) + 2.0
    out = norm(x)
    assert out.shape == x.shape
    assert torch.allclose(out.mean(1), torch.zeros(2, 4, 5), atol=1e-5)
    assert torch.allclose(out.var(1, unbiased=False), torch.ones(2, 4, 5), atol=1e-3)
    by_hand = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + 1e-5)
    assert torch.allclose(out, by_hand, atol=1e-5)


def test_channel_layer_norm_does_not_mix_pixels(generator: torch.Generator) -> None:
    norm = layers.ChannelLayerNorm(4)
    x = torch.randn(1, 4, 3, 3, generator=generator)
    changed = x.clone()
    changed[0, :, 2, 2] += 5.0
    diff = (norm(changed) - norm(x)).abs().sum(1)[0]  # (H, W)
    assert diff[2, 2] > 0
    diff[2, 2] = 0
    assert torch.equal(diff, torch.zeros(3, 3))


def test_make_norm_builds_each_kind() -> None:
    assert isinstance(layers.make_norm("none", 4), nn.Identity)
    assert isinstance(layers.make_norm("layer", 4), layers.ChannelLayerNorm)
    batch = layers.make_norm("batch", 4)
    assert isinstance(batch, nn.BatchNorm2d) and batch.num_features == 4


@pytest.mark.parametrize(("name", "error"), [("group", ValueError), ("Layer", ValueError), ("instance", ValueError), (None, TypeError)])
def test_make_norm_rejects_unknown_name(name: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="norm must be 'none', 'batch' or 'layer'") as info:
        layers.make_norm(name, 4)  # type: ignore[arg-type]
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("channels", [3, 1, 0, 7])
def test_residual_block_rejects_odd_channels(channels: int) -> None:
    with pytest.raises(ValueError, match=rf"channels must be an even number >= 2.*got {channels}"):
        layers.ResidualBlock(channels)


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_residual_block_shape_and_skip(norm: str, generator: torch.Generator) -> None:
    block = layers.ResidualBlock(8, kernel_size=3, dilation=2, norm=norm)
    x = torch.randn(2, 8, 5, 6, generator=generator)
    assert block(x).shape == x.shape
    last = block.block[-1]
    with torch.no_grad():  # with the last convolution zeroed the block is the identity
        last.weight.zero_()
        last.bias.zero_()
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("dilation, error", [(2.0, TypeError), (True, TypeError), ("2", TypeError), (0, ValueError)])
def test_masked_and_stack_convolutions_need_an_int_dilation(dilation: object, error: type[Exception]) -> None:
    """A float dilation used to be accepted and crash in forward."""
    with pytest.raises(error, match="dilation must be"):
        layers.MaskedConv2d(1, 1, 3, "A", dilation=dilation)  # type: ignore[arg-type]
    with pytest.raises(error, match="dilation must be"):
        layers.StackConv2d(1, 2, 3, "vertical", "B", dilation=dilation)  # type: ignore[arg-type]
    with pytest.raises(error, match="dilation must be"):
        layers.ResidualBlock(4, 3, dilation=dilation)  # type: ignore[arg-type]


def test_masked_convolutions_need_an_int_kernel_size() -> None:
    with pytest.raises(TypeError, match="kernel_size must be an int, got float 3.0"):
        layers.MaskedConv2d(1, 1, 3.0, "A")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="kernel_size must be an int, got str"):
        layers.GatedBlock(1, 2, "3", "A", residual=False)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- class biases


def _class_bias_with_weights(channels: int = 4, maps: int = 2, seed: int = 0) -> layers.ClassBias:
    """A class bias for 3 classes whose weights are random (they start at zero)."""
    bias = layers.ClassBias(3, channels, maps)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in bias.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return bias


def test_a_new_class_bias_with_maps_adds_nothing() -> None:
    bias = layers.ClassBias(3, 4, maps=2)
    x = torch.randn(2, 4, 5, 6)
    assert torch.equal(bias(x, torch.tensor([0, 2])), x)


def test_class_maps_vary_over_the_image_and_between_classes() -> None:
    bias = _class_bias_with_weights()
    x = torch.zeros(3, 4, 7, 9)
    out = bias(x, torch.tensor([0, 1, 2]))
    per_class = bias.embedding.weight[:, :, None, None]
    where = out - per_class  # the position-dependent part
    assert where.shape == (3, 4, 7, 9)
    assert where.std(dim=(2, 3)).min() > 0.01  # not one value per map: it changes from pixel to pixel
    assert (where[0] - where[1]).abs().max() > 0.1  # and from class to class
    assert torch.allclose(where, bias.class_maps(torch.tensor([0, 1, 2]), (7, 9)))


def test_class_maps_are_the_mixed_and_resized_pictures() -> None:
    """The formula: bilinear resize of the class's map_size x map_size maps, then a 1x1 mixing."""
    bias = _class_bias_with_weights(channels=3, maps=2)
    y = torch.tensor([1])
    small = bias.where.weight[1].view(1, 2, 7, 7)
    resized = F.interpolate(small, size=(14, 14), mode="bilinear", align_corners=False)
    expected = torch.einsum("om,bmhw->bohw", bias.mix.weight[:, :, 0, 0], resized)
    assert torch.allclose(bias.class_maps(y, (14, 14)), expected, atol=1e-6)


def test_class_maps_do_not_read_the_image() -> None:
    bias = _class_bias_with_weights()
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    out = bias(x, torch.tensor([0, 1]))
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.equal(grad, torch.ones_like(x))  # the image passes through unchanged: the bias is label-only


def test_a_cached_class_bias_gives_each_region_its_part_of_the_maps() -> None:
    from pixelcnn_edu.incremental import CacheState

    bias = _class_bias_with_weights()
    y = torch.tensor([2, 0])
    full = bias(torch.zeros(2, 4, 6, 5), y)
    state = CacheState(6, 5)
    bias.start_cache(state)
    try:
        for rows, cols in [((0, 6), (0, 5)), ((2, 3), (1, 4)), ((5, 6), (4, 5))]:
            state.set_region(rows, cols)
            part = bias(torch.zeros(2, 4, rows[1] - rows[0], cols[1] - cols[0]), y)
            assert torch.allclose(part, full[:, :, rows[0] : rows[1], cols[0] : cols[1]], atol=1e-6)
    finally:
        bias.stop_cache()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_classes=None, channels=4, maps=2), ValueError, "needs class labels"),
        (dict(n_classes=3, channels=4, maps=-1), ValueError, "maps must be >= 0"),
        (dict(n_classes=3, channels=4, maps=1.5), TypeError, "maps must be an int"),
        (dict(n_classes=3, channels=4, maps=2, map_size=0), ValueError, "map_size must be >= 1"),
    ],
)
def test_class_bias_rejects_bad_maps(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        layers.ClassBias(**kwargs)


def test_class_maps_without_maps_is_an_error() -> None:
    with pytest.raises(ValueError, match="no maps"):
        layers.ClassBias(3, 4).class_maps(torch.tensor([0]), (4, 4))
