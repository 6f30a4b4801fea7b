"""The Gated PixelCNN's layers: the cropped convolutions of its two stacks, the gate, the block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_positive_int
from ..incremental import CachedConv, CachedLayer
from ..masks import ColorConvention, MaskType, StackType, stack_conv_mask
from .masked import ClassBias, MaskedConv2d, PointwiseConv2d


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
        self.keeps_every_weight = bool(self.mask.all())  # grey stacks: the crop removed every masked tap

    masked_weight = MaskedConv2d.masked_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return self._conv_forward(F.pad(x, self.padding_lrtb), self.masked_weight(), self.bias)

    def _cache_geometry(self):
        return self.padding_lrtb, self.masked_weight(), self.bias, 1, self.dilation[0]

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
        h'    = h + out(g)   (residual; without it on the first layer)     skip = skip(g)  (or None)

    The v -> h link is a 1x1 convolution applied before the gate. It needs no mask: the vertical
    stack never holds the current row. Only the vertical stack feeds the horizontal one, never the
    other way round, which would leak the current row into the rows below.

    Args:
        in_channels: maps read by both stacks (the image's channels in the first layer).
        channels: p, the maps each stack carries between layers.
        kernel_size: the k x k window both stacks are cut from.
        mask_type: "A" for the first layer, "B" after it.
        skip_channels: maps of the skip output (None: ``channels``; 0: no skip output, the block
            returns None in its place and saves the skip 1x1 convolution).
        residual: add the input to the horizontal output (needs in_channels == channels).
        n_classes, class_maps: a class bias before each stack's gate (see :class:`ClassBias`).
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
        class_maps: int = 0,
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
        self.bias_v = ClassBias(n_classes, 2 * channels, class_maps)
        self.bias_h = ClassBias(n_classes, 2 * channels, class_maps)
        self.out = MaskedConv2d(channels, channels, 1, "B", **colour)
        self.skip = MaskedConv2d(channels, skip_channels, 1, "B", **colour) if skip_channels else None
        self.residual = residual

    def forward(
        self, v: torch.Tensor, h: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(v, h) -> (v', h', skip), all (B, maps, H, W); skip is None without a skip output."""
        v_out, from_v = self._vertical_part(v, y)
        h_pre = self.bias_h(self.horizontal(h) + from_v, y)
        g = gate(h_pre)
        h_out = self.out(g)
        if self.residual:
            h_out = h_out + h
        return v_out, h_out, None if self.skip is None else self.skip(g)

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
