"""PixelCNN++: shifted convolutions instead of masks.

PixelCNN++ (Salimans et al., 2017) needs no masks. A "down" convolution with a (2, 3) kernel is
padded so that output (i, j) reads rows i-1..i and columns j-1..j+1: nothing below the row. A
"down-right" convolution with a (2, 2) kernel reads rows i-1..i and columns j-1..j: nothing to the
right either. The network starts from versions of these shifted by one more row (and column), so
that its two streams hold only earlier pixels: u everything strictly above, ul everything above
and to the left.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..incremental import CachedConv, CachedLayer
from .masked import ClassBias, PointwiseConv2d

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
    convolution reads positions that the block's own stream may already read. ``n_classes`` and
    ``class_maps`` add a class bias to c2 (see :class:`layers.ClassBias`).
    """

    def __init__(
        self, channels: int, shift: ShiftType, aux_channels: int = 0, dropout: float = 0.0, n_classes: int | None = None,
        class_maps: int = 0,
    ) -> None:
        super().__init__()
        kernel = (2, 3) if _check_shift(shift) == "down" else (2, 2)
        self.conv1 = ShiftedConv2d(2 * channels, channels, kernel, shift)
        self.aux = PointwiseConv2d(2 * aux_channels, channels) if aux_channels else None
        self.dropout = nn.Dropout(dropout)
        self.conv2 = ShiftedConv2d(2 * channels, 2 * channels, kernel, shift)
        self.class_bias = ClassBias(n_classes, 2 * channels, class_maps)

    def forward(self, x: torch.Tensor, aux: torch.Tensor | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        c1 = self.conv1(concat_elu(x))
        if self.aux is not None:
            if aux is None:
                raise ValueError("this block was built with an auxiliary input; pass aux")
            c1 = c1 + self.aux(concat_elu(aux))
        c2 = self.class_bias(self.conv2(self.dropout(concat_elu(c1))), y)
        a, b = c2.chunk(2, dim=1)
        return x + a * torch.sigmoid(b)
