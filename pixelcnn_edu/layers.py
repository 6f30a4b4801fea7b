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

from .masks import MaskType, check_kernel_size, check_mask_type, spatial_mask

NormType = Literal["none", "batch", "layer"]


class MaskedConv2d(nn.Conv2d):
    """A 2-D convolution that only reads pixels before the output position.

    Args:
        in_channels, out_channels: feature maps in and out.
        kernel_size: odd kernel size k (k x k kernel).
        mask_type: "A" hides the centre pixel (first layer), "B" keeps it (later layers).
        dilation: spacing between kernel taps; the padding keeps H and W unchanged.
        bias: add a learned bias.

    Input (B, in_channels, H, W) -> output (B, out_channels, H, W).
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
    ) -> None:
        check_kernel_size(kernel_size)
        check_mask_type(mask_type)
        if dilation < 1:
            raise ValueError(f"dilation must be >= 1, got {dilation}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            padding=dilation * (kernel_size // 2),  # "same" output size
            dilation=dilation,
            bias=bias,
        )
        self.mask_type = mask_type
        mask = spatial_mask(kernel_size, mask_type).expand(out_channels, in_channels, -1, -1)
        self.register_buffer("mask", mask.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mask_type={self.mask_type!r}"


class MaskedLinear(nn.Linear):
    """A linear layer with a fixed 0/1 connectivity mask (used by MADE).

    ``mask`` has shape (out_features, in_features); ``mask[o, i] = 1`` lets output o read input i.
    """

    mask: torch.Tensor

    def __init__(self, mask: torch.Tensor, bias: bool = True) -> None:
        if mask.dim() != 2:
            raise ValueError(f"mask must be 2-D (out_features, in_features), got shape {tuple(mask.shape)}")
        out_features, in_features = mask.shape
        super().__init__(in_features, out_features, bias=bias)
        self.register_buffer("mask", mask.to(torch.float32).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel separately.

    Unlike ``nn.LayerNorm((C, H, W))``, which mixes every position (and so lets each
    output see future pixels), this normalises each pixel on its own and keeps the
    model autoregressive.  (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def make_norm(norm: NormType, channels: int) -> nn.Module:
    """Build the normalisation layer named by ``norm``.

    "none": identity.  "layer": per-pixel LayerNorm over channels (causal).
    "batch": BatchNorm2d, as in seed 001. In training mode its batch statistics mix all
    positions, so outputs depend (weakly) on future pixels; in eval mode it is causal.
    """
    if norm == "none":
        return nn.Identity()
    if norm == "layer":
        return ChannelLayerNorm(channels)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'none', 'batch' or 'layer', got {norm!r}")


class ResidualBlock(nn.Module):
    """PixelCNN residual block: 1x1 (2h -> h), k x k mask B (h -> h), 1x1 (h -> 2h), plus input.

    Each convolution is preceded by normalisation and ReLU. ``channels`` is 2h.
    (B, channels, H, W) -> (B, channels, H, W).
    """

    def __init__(self, channels: int, kernel_size: int = 3, dilation: int = 1, norm: NormType = "none") -> None:
        super().__init__()
        if channels < 2 or channels % 2:
            raise ValueError(f"channels must be an even number >= 2 (it is 2h), got {channels}")
        half = channels // 2
        self.block = nn.Sequential(
            make_norm(norm, channels),
            nn.ReLU(),
            MaskedConv2d(channels, half, 1, "B"),
            make_norm(norm, half),
            nn.ReLU(),
            MaskedConv2d(half, half, kernel_size, "B", dilation=dilation),
            make_norm(norm, half),
            nn.ReLU(),
            MaskedConv2d(half, channels, 1, "B"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)
