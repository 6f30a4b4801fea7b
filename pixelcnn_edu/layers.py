"""Layers whose connectivity is restricted by a mask.

The mask is a non-persistent buffer applied in every forward pass
(``weight * mask``), so masked weights receive exactly zero gradient and a
checkpoint can never swap one mask for another.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_positive_int
from .incremental import CachedConv, CachedLayer
from .masks import (
    ColorConvention,
    MaskType,
    StackType,
    check_kernel_size,
    check_mask_type,
    color_of,
    conv_mask,
    stack_conv_mask,
)

NormType = Literal["none", "batch", "layer"]


class MaskedConv2d(CachedConv, nn.Conv2d):
    """A 2-D convolution that only reads sub-pixels before the output position.

    Args:
        in_channels, out_channels: feature maps in and out.
        kernel_size: odd kernel size k (k x k kernel).
        mask_type: "A" hides the centre pixel (first layer), "B" keeps it (later layers).
        dilation: spacing between kernel taps; the padding keeps H and W unchanged.
        bias: add a learned bias.
        color_groups: 1 for grey (or colour channels treated independently); 3 for R -> G -> B:
            at the centre tap, maps of colour g read only earlier colours (mask A) or earlier
            colours and their own (mask B); see :func:`masks.conv_mask`.
        color_convention: how maps are assigned to colours, "contiguous" thirds or "interleaved"
            (``channel % 3``); see :func:`masks.color_of`.

    Input (B, in_channels, H, W) -> output (B, out_channels, H, W). While sampling with a cache
    (:mod:`incremental`) it computes only the current region, reading earlier positions from a
    buffer of its past input.
    """

    mask: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        mask_type: MaskType = "B",
        dilation: int = 1,
        bias: bool = True,
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
    ) -> None:
        check_kernel_size(kernel_size)
        check_mask_type(mask_type)
        check_positive_int("dilation", dilation)
        mask = conv_mask(in_channels, out_channels, kernel_size, mask_type, color_groups, color_convention)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            padding=dilation * (kernel_size // 2),  # "same" output size
            dilation=dilation,
            bias=bias,
        )
        self.mask_type = mask_type
        self.color_groups = color_groups
        self.color_convention = color_convention
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return self._conv_forward(x, self.weight * self.mask, self.bias)

    def _cache_geometry(self):
        pad_h, pad_w = self.padding
        return (pad_w, pad_w, pad_h, pad_h), self.weight * self.mask, self.bias, 1, self.dilation[0]

    def extra_repr(self) -> str:
        colour = f", color_groups={self.color_groups}, color_convention={self.color_convention!r}" if self.color_groups > 1 else ""
        return super().extra_repr() + f", mask_type={self.mask_type!r}" + colour


class MaskedLinear(CachedLayer, nn.Linear):
    """A linear layer with a fixed 0/1 connectivity mask (used by MADE).

    ``mask`` has shape (out_features, in_features); ``mask[o, i] = 1`` lets output o read input i.

    For cached sampling, ``in_per_pixel`` (``out_per_pixel``) says that the input (output) features
    are laid out in raster order, that many per pixel; a region's forward then takes (gives) only the
    features of the region's pixels. A raster-ordered input is absorbed one region at a time: the
    pre-activation ``bias + W x`` is updated by the columns of the values that changed, so each drawn
    sub-pixel costs one column of W instead of the whole product. A raster-ordered output computes
    only the region's rows of W. Hidden features (``None``) are computed in full.
    """

    mask: torch.Tensor

    def __init__(
        self, mask: torch.Tensor, bias: bool = True, in_per_pixel: int | None = None, out_per_pixel: int | None = None
    ) -> None:
        if mask.dim() != 2:
            raise ValueError(f"mask must be 2-D (out_features, in_features), got shape {tuple(mask.shape)}")
        out_features, in_features = mask.shape
        super().__init__(in_features, out_features, bias=bias)
        self.in_per_pixel, self.out_per_pixel = in_per_pixel, out_per_pixel
        self.register_buffer("mask", mask.to(torch.float32).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return F.linear(x, self.weight * self.mask, self.bias)

    def _features(self, per_pixel: int | None) -> slice:
        """The raster-ordered features of the current region (one row, or whole rows)."""
        state = self.cache
        (r0, r1), (c0, c1) = state.rows, state.cols
        if r1 - r0 > 1 and (c0, c1) != (0, state.width):
            raise ValueError("a raster-ordered region must be part of one row or whole rows")
        return slice((r0 * state.width + c0) * per_pixel, ((r1 - 1) * state.width + c1) * per_pixel)

    def start_cache(self, state) -> None:
        super().start_cache(state)
        self._weight = self.weight * self.mask  # masked once for the whole sampling
        self._pre: torch.Tensor | None = None

    def stop_cache(self) -> None:
        super().stop_cache()
        self._weight = self._pre = None

    def _forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self._weight, self.bias
        if self.in_per_pixel is None:
            if self.out_per_pixel is None:
                return F.linear(x, weight, bias)
            rows = self._features(self.out_per_pixel)
            return F.linear(x, weight[rows], None if bias is None else bias[rows])
        cols = self._features(self.in_per_pixel)
        if self._buffer is None:  # the input so far (B, in), and bias + W @ (input so far) (B, out)
            self._buffer = x.new_zeros(x.shape[0], self.in_features)
            self._pre = x.new_zeros(x.shape[0], self.out_features) + (0.0 if bias is None else bias)
        change = x - self._buffer[:, cols]  # nonzero only where a value was drawn since the last pass
        self._buffer[:, cols] = x
        self._pre = self._pre + change @ weight[:, cols].T
        if self.out_per_pixel is None:
            return self._pre
        return self._pre[:, self._features(self.out_per_pixel)]


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel separately, and within each colour group.

    Unlike ``nn.LayerNorm((C, H, W))``, which mixes every position (and so lets each output see
    future pixels), this normalises each pixel on its own. With colour groups, R maps are
    normalised only with R maps (and so on), since mixing in G's statistics would let R see the
    current G. (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(
        self, channels: int, color_groups: int = 1, color_convention: ColorConvention = "contiguous", eps: float = 1e-5
    ) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        colour = color_of(channels, color_groups, color_convention)
        self.groups = [torch.nonzero(colour == g).flatten() for g in range(color_groups)]
        if min(len(g) for g in self.groups) < 2:
            raise ValueError(
                f"layer norm over {channels} channels in {color_groups} colour groups leaves a group with one map, "
                f"which normalises to a constant 0; use at least {2 * color_groups} channels"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.groups) == 1:
            out = F.layer_norm(x.movedim(1, -1), x.shape[1:2], eps=self.eps).movedim(-1, 1)
        else:
            out = torch.empty_like(x)
            for index in self.groups:
                index = index.to(x.device)
                part = x[:, index]
                mean = part.mean(1, keepdim=True)
                var = part.var(1, unbiased=False, keepdim=True)
                out[:, index] = (part - mean) / torch.sqrt(var + self.eps)
        return out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def make_norm(
    norm: NormType, channels: int, color_groups: int = 1, color_convention: ColorConvention = "contiguous"
) -> nn.Module:
    """Build the normalisation layer named by ``norm``.

    "none": identity.  "layer": per-pixel LayerNorm over channels, per colour group (causal).
    "batch": BatchNorm2d, as in seed 001. In training mode its batch statistics mix all
    positions, so outputs depend (weakly) on future pixels; in eval mode it is causal.
    """
    if norm == "none":
        return nn.Identity()
    if norm == "layer":
        return ChannelLayerNorm(channels, color_groups, color_convention)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'none', 'batch' or 'layer', got {norm!r}")


class ClassBias(nn.Module):
    """A learned bias per class, added to every position of a feature map (conditioning).

    ``forward(x, y)`` adds the bias of labels ``y`` (B,) to ``x`` (B, channels, H, W), or returns
    ``x`` itself when the layer is off (``n_classes=None``). It is the same at every pixel, so it
    cannot leak future pixels. It starts at zero, so a conditional model begins as its
    unconditional twin.
    """

    def __init__(self, n_classes: int | None, channels: int) -> None:
        super().__init__()
        self.embedding = None if n_classes is None else nn.Embedding(n_classes, channels)
        if self.embedding is not None:
            nn.init.zeros_(self.embedding.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.embedding is None:
            return x
        return x + self.embedding(y.long())[:, :, None, None]


class PointwiseConv2d(CachedConv, nn.Conv2d):
    """A 1x1 convolution (B, in, H, W) -> (B, out, H, W), as ``nn.Conv2d(in, out, 1)`` (same weights),
    that while sampling with a cache runs as a matrix product on the region, which is faster."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return super().forward(x)

    def _cache_geometry(self):
        return (0, 0, 0, 0), self.weight, self.bias, 1, 1


class ResidualBlock(nn.Module):
    """PixelCNN residual block: 1x1 (2h -> h), k x k mask B (h -> h), 1x1 (h -> 2h), plus input.

    Each convolution is preceded by normalisation and ReLU. ``channels`` is 2h. All three
    convolutions are masked (mask B) so that colour groups are respected. With ``n_classes``, a
    class bias is added after the k x k convolution. (B, channels, H, W) -> (B, channels, H, W).
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        norm: NormType = "none",
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
        n_classes: int | None = None,
    ) -> None:
        super().__init__()
        if channels < 2 or channels % 2:
            raise ValueError(f"channels must be an even number >= 2 (it is 2h), got {channels}")
        half = channels // 2
        colour = dict(color_groups=color_groups, color_convention=color_convention)
        self.block = nn.Sequential(
            make_norm(norm, channels, **colour),
            nn.ReLU(),
            MaskedConv2d(channels, half, 1, "B", **colour),
            make_norm(norm, half, **colour),
            nn.ReLU(),
            MaskedConv2d(half, half, kernel_size, "B", dilation=dilation, **colour),
            make_norm(norm, half, **colour),
            nn.ReLU(),
            MaskedConv2d(half, channels, 1, "B", **colour),
        )
        self.class_bias = ClassBias(n_classes, half)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = x
        for index, layer in enumerate(self.block):
            out = layer(out)
            if index == 5:  # after the k x k convolution
                out = self.class_bias(out, y)
        return x + out


class StackConv2d(CachedConv, nn.Conv2d):
    """The convolution of one Gated PixelCNN stack, with only the taps its footprint keeps.

    The k x k footprint of :func:`masks.stack_mask` is cropped to its bounding box (vertical:
    k//2 or k//2 + 1 rows by k columns; horizontal: 1 row by k//2 + 1 columns), and the input is
    padded (or cropped, where a padding is negative) so that every output pixel still reads the
    same input positions as the full k x k window centred on it. Vertical mask A is thus the
    "shifted" convolution that keeps the vertical stack strictly above the current row. The
    horizontal stack's centre tap carries the R -> G -> B channel mask.

    Args: as :class:`MaskedConv2d`, plus ``stack`` ("vertical" or "horizontal") and
    ``out_copies`` (2 when the output is a gate's tanh and sigmoid halves, see
    :func:`masks.channel_mask`). (B, in_channels, H, W) -> (B, out_channels, H, W).
    """

    mask: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stack: StackType,
        mask_type: MaskType = "B",
        dilation: int = 1,
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
        out_copies: int = 1,
    ) -> None:
        check_positive_int("dilation", dilation)
        full = stack_conv_mask(in_channels, out_channels, kernel_size, stack, mask_type, color_groups, color_convention, out_copies)
        used = full.sum((0, 1)) > 0  # (k, k) taps that any channel pair reads
        if not used.any():
            raise ValueError(
                f"a {stack} mask-{mask_type} convolution with kernel_size={kernel_size} reads nothing; "
                f"use kernel_size >= 3 for the first layer"
            )
        rows, cols = used.any(1).nonzero().flatten(), used.any(0).nonzero().flatten()
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        super().__init__(in_channels, out_channels, (r1 - r0 + 1, c1 - c0 + 1), dilation=dilation)
        centre = kernel_size // 2
        # F.pad order: left, right, top, bottom; a negative entry crops (the vertical A shift).
        self.padding_lrtb = tuple(dilation * p for p in (centre - c0, c1 - centre, centre - r0, r1 - centre))
        self.stack, self.mask_type, self.full_kernel_size = stack, mask_type, kernel_size
        self.register_buffer("mask", full[:, :, r0 : r1 + 1, c0 : c1 + 1].clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return self._conv_forward(F.pad(x, self.padding_lrtb), self.weight * self.mask, self.bias)

    def _cache_geometry(self):
        return self.padding_lrtb, self.weight * self.mask, self.bias, 1, self.dilation[0]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", stack={self.stack!r}, mask_type={self.mask_type!r}, window={self.full_kernel_size}"


def gate(x: torch.Tensor) -> torch.Tensor:
    """Gated activation tanh(a) * sigmoid(b), where a and b are the two halves of the channels.

    (B, 2p, H, W) -> (B, p, H, W). The sigmoid half decides, per map and pixel, how much of the
    tanh half passes (the multiplicative units of LSTMs, in a convolution).
    """
    if x.dim() < 2 or x.shape[1] % 2:
        raise ValueError(f"gate needs an even number of channels (two halves), got shape {tuple(x.shape)}")
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedBlock(CachedLayer, nn.Module):
    """One layer of the Gated PixelCNN (van den Oord et al., 2016), on both stacks.

        v_pre = V * v + bias_v(y)                       (vertical stack, strictly above the row)
        h_pre = H * h + link(v_pre) + bias_h(y)         (horizontal stack, the row up to here)
        v'    = tanh(v_pre_a) * sigmoid(v_pre_b)
        g     = tanh(h_pre_a) * sigmoid(h_pre_b)
        h'    = h + out(g)   (residual; without it on the first layer)     skip = skip(g)

    The v -> h link is a 1x1 convolution applied before the gate. It needs no mask: the vertical
    stack never holds the current row. Only the vertical stack feeds the horizontal one, never the
    other way round, which would leak the current row into the rows below.

    Args:
        in_channels: maps read by both stacks (the image's channels in the first layer).
        channels: p, the maps each stack carries between layers.
        kernel_size: the k x k window both stacks are cut from.
        mask_type: "A" for the first layer, "B" after it.
        skip_channels: maps of the skip output.
        residual: add the input to the horizontal output (needs in_channels == channels).
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        mask_type: MaskType = "B",
        dilation: int = 1,
        skip_channels: int | None = None,
        residual: bool = True,
        n_classes: int | None = None,
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
    ) -> None:
        super().__init__()
        if residual and in_channels != channels:
            raise ValueError(f"a residual gated block needs in_channels == channels, got {in_channels} and {channels}")
        colour = dict(color_groups=color_groups, color_convention=color_convention)
        skip_channels = channels if skip_channels is None else skip_channels
        self.vertical = StackConv2d(in_channels, 2 * channels, kernel_size, "vertical", mask_type, dilation)
        self.horizontal = StackConv2d(
            in_channels, 2 * channels, kernel_size, "horizontal", mask_type, dilation, out_copies=2, **colour
        )
        self.link = PointwiseConv2d(2 * channels, 2 * channels)
        self.bias_v = ClassBias(n_classes, 2 * channels)
        self.bias_h = ClassBias(n_classes, 2 * channels)
        self.out = MaskedConv2d(channels, channels, 1, "B", **colour)
        self.skip = MaskedConv2d(channels, skip_channels, 1, "B", **colour)
        self.residual = residual

    def forward(
        self, v: torch.Tensor, h: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(v, h) -> (v', h', skip), all (B, maps, H, W)."""
        v_out, from_v = self._vertical_part(v, y)
        h_pre = self.bias_h(self.horizontal(h) + from_v, y)
        g = gate(h_pre)
        h_out = self.out(g)
        if self.residual:
            h_out = h_out + h
        return v_out, h_out, self.skip(g)

    def _vertical_part(self, v: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(v', link(v_pre)): both read only the rows above the current one.

        So while sampling with a cache, a pass over whole rows computes and keeps them, and a pass
        over a few pixels of a row (which cannot change them) reads them back: the vertical stack
        then costs nothing per pixel.
        """
        state = self.cache
        if state is None or state.cols == (0, state.width):
            v_pre = self.bias_v(self.vertical(v), y)
            v_out, from_v = gate(v_pre), self.link(v_pre)
            if state is not None:
                (r0, r1), kept = state.rows, self._kept
                if kept is None:
                    kept = self._kept = tuple(t.new_zeros(*t.shape[:2], state.height, state.width) for t in (v_out, from_v))
                kept[0][:, :, r0:r1], kept[1][:, :, r0:r1] = v_out, from_v
            return v_out, from_v
        if self._kept is None:
            raise ValueError("a gated block computes a few pixels of a row only after a pass over whole rows")
        (r0, r1), (c0, c1) = state.rows, state.cols
        return self._kept[0][:, :, r0:r1, c0:c1], self._kept[1][:, :, r0:r1, c0:c1]

    def start_cache(self, state) -> None:
        super().start_cache(state)
        self._kept: tuple[torch.Tensor, torch.Tensor] | None = None

    def stop_cache(self) -> None:
        super().stop_cache()
        self._kept = None


# --- PixelCNN++: shifted convolutions instead of masks ----------------------------------------
#
# PixelCNN++ (Salimans et al., 2017) needs no masks. A "down" convolution with a (2, 3) kernel is
# padded so that output (i, j) reads rows i-1..i and columns j-1..j+1: nothing below the row. A
# "down-right" convolution with a (2, 2) kernel reads rows i-1..i and columns j-1..j: nothing to the
# right either. The network starts from versions of these shifted by one more row (and column), so
# that its two streams hold only earlier pixels: u everything strictly above, ul everything above
# and to the left.

ShiftType = Literal["down", "downright"]


def _check_shift(shift: str) -> ShiftType:
    if shift not in ("down", "downright"):
        raise ValueError(f"shift must be 'down' or 'downright', got {shift!r}")
    return shift  # type: ignore[return-value]


def down_shift(x: torch.Tensor) -> torch.Tensor:
    """Move every row one down (a zero row enters at the top): (B, C, H, W) -> (B, C, H, W)."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def right_shift(x: torch.Tensor) -> torch.Tensor:
    """Move every column one right (a zero column enters on the left): (B, C, H, W) -> (B, C, H, W)."""
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


class Shift(CachedLayer, nn.Module):
    """:func:`down_shift` (``"down"``) or :func:`right_shift` (``"right"``) as a layer, so that while
    sampling with a cache it can hand a region the row above it (or the column left of it)."""

    def __init__(self, direction: Literal["down", "right"]) -> None:
        super().__init__()
        if direction not in ("down", "right"):
            raise ValueError(f"direction must be 'down' or 'right', got {direction!r}")
        self.direction = direction
        self.offset = (1, 0) if direction == "down" else (0, 1)  # (rows, columns) moved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return down_shift(x) if self.direction == "down" else right_shift(x)

    def _forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        r0, r1, c0, c1 = self.cache.check(x, self.cache_scale, self)
        down, right = self.offset
        if self._buffer is None:  # input (i, j) is kept at (i + down, j + right); output (i, j) reads (i, j)
            h, w = self.cache.size_at(self.cache_scale)
            self._buffer = x.new_zeros(x.shape[0], x.shape[1], h + down, w + right)
        self._buffer[:, :, r0 + down : r1 + down, c0 + right : c1 + right] = x
        return self._buffer[:, :, r0:r1, c0:c1].clone()

    def extra_repr(self) -> str:
        return repr(self.direction)


class ShiftedConv2d(CachedConv, nn.Conv2d):
    """A convolution padded so that output (i, j) reads no row below i ("down") and, for
    "downright", no column right of j either. With ``stride=2`` it halves H and W.

    kernel (kh, kw): "down" reads rows i-kh+1..i and columns j-(kw-1)/2..j+(kw-1)/2 (kw odd);
    "downright" reads rows i-kh+1..i and columns j-kw+1..j. (B, in, H, W) -> (B, out, H/stride, W/stride).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], shift: ShiftType, stride: int = 1) -> None:
        kh, kw = kernel_size
        _check_shift(shift)
        if shift == "down" and kw % 2 == 0:
            raise ValueError(f"a 'down' convolution needs an odd kernel width (centred columns), got {kw}")
        super().__init__(in_channels, out_channels, (kh, kw), stride=stride)
        side = (kw - 1) // 2
        self.padding_lrtb = (side, side, kh - 1, 0) if shift == "down" else (kw - 1, 0, kh - 1, 0)
        self.shift = shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return super().forward(F.pad(x, self.padding_lrtb))

    def _cache_geometry(self):
        return self.padding_lrtb, self.weight, self.bias, self.stride[0], 1


class ShiftedConvTranspose2d(CachedLayer, nn.ConvTranspose2d):
    """The up-sampling twin of :class:`ShiftedConv2d`: stride 2, then cropped so that no output
    reads a later position. (B, in, H, W) -> (B, out, 2H, 2W).

    Output (p, q) reads input row p // 2 and, for "down", input columns (q +- 1) // 2; while sampling
    with a cache the layer keeps its input and computes the region's outputs from a small window."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], shift: ShiftType) -> None:
        _check_shift(shift)
        super().__init__(in_channels, out_channels, kernel_size, stride=2, output_padding=1)
        self.shift = shift
        self.left_crop = (kernel_size[1] - 1) // 2 if shift == "down" else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if self.cache is not None:
            return self._forward_cached(x)
        out = super().forward(x)  # (B, out, 2H + kh - 1, 2W + kw - 1)
        kh, kw = self.kernel_size
        h, w = out.shape[2] - kh + 1, out.shape[3] - kw + 1  # 2H, 2W
        return out[:, :, :h, self.left_crop : self.left_crop + w]

    def _forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), left = self.kernel_size, self.left_crop
        r0, r1, c0, c1 = self.cache.check(x, self.cache_scale, self)
        top_margin, left_margin = max(0, -((2 - kh) // 2)), max(0, -((left - kw + 2) // 2))  # windows may start there
        if self._buffer is None:
            h, w = self.cache.size_at(self.cache_scale)
            self._buffer = x.new_zeros(x.shape[0], x.shape[1], top_margin + h + 1, left_margin + w + 1)
        self._buffer[:, :, top_margin + r0 : top_margin + r1, left_margin + c0 : left_margin + c1] = x
        p0, p1, q0, q1 = self.cache.region_at(self.cache_scale // 2)  # the outputs wanted
        # full output (p, q) = transposed-conv output (p, q + left), fed by input rows r with 2r + a = p
        # (0 <= a < kh) and columns c with 2c + b = q + left (0 <= b < kw): take just those inputs.
        i0, i1 = (p0 - kh + 2) // 2, (p1 - 1) // 2 + 1
        j0, j1 = (q0 + left - kw + 2) // 2, (q1 - 1 + left) // 2 + 1
        window = self._buffer[:, :, top_margin + i0 : top_margin + i1, left_margin + j0 : left_margin + j1]
        out = F.conv_transpose2d(window, self.weight, self.bias, stride=2)  # output (p, q') of the window is (p + 2 i0, q' + 2 j0)
        return out[:, :, p0 - 2 * i0 : p1 - 2 * i0, q0 + left - 2 * j0 : q1 + left - 2 * j0]


def concat_elu(x: torch.Tensor) -> torch.Tensor:
    """ELU of x and of -x side by side: (B, C, H, W) -> (B, 2C, H, W); keeps both signs' information."""
    return F.elu(torch.cat([x, -x], dim=1))


class GatedResNet(nn.Module):
    """PixelCNN++'s gated residual block on one stream:

        c1 = conv(concat_elu(x)) [+ 1x1(concat_elu(aux))];  c2 = conv(dropout(concat_elu(c1))) + bias(y)
        out = x + a * sigmoid(b),  where a, b are the two halves of c2.

    ``aux`` carries the other stream (or the skip connection from the down pass); its 1x1
    convolution reads positions that the block's own stream may already read.
    """

    def __init__(
        self, channels: int, shift: ShiftType, aux_channels: int = 0, dropout: float = 0.0, n_classes: int | None = None
    ) -> None:
        super().__init__()
        kernel = (2, 3) if _check_shift(shift) == "down" else (2, 2)
        self.conv1 = ShiftedConv2d(2 * channels, channels, kernel, shift)
        self.aux = PointwiseConv2d(2 * aux_channels, channels) if aux_channels else None
        self.dropout = nn.Dropout(dropout)
        self.conv2 = ShiftedConv2d(2 * channels, 2 * channels, kernel, shift)
        self.class_bias = ClassBias(n_classes, 2 * channels)

    def forward(self, x: torch.Tensor, aux: torch.Tensor | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        c1 = self.conv1(concat_elu(x))
        if self.aux is not None:
            if aux is None:
                raise ValueError("this block was built with an auxiliary input; pass aux")
            c1 = c1 + self.aux(concat_elu(aux))
        c2 = self.class_bias(self.conv2(self.dropout(concat_elu(c1))), y)
        a, b = c2.chunk(2, dim=1)
        return x + a * torch.sigmoid(b)
