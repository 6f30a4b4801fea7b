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

from .masks import ColorConvention, MaskType, check_kernel_size, check_mask_type, color_of, conv_mask

NormType = Literal["none", "batch", "layer"]


class MaskedConv2d(nn.Conv2d):
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
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
    ) -> None:
        check_kernel_size(kernel_size)
        check_mask_type(mask_type)
        if dilation < 1:
            raise ValueError(f"dilation must be >= 1, got {dilation}")
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
        return self._conv_forward(x, self.weight * self.mask, self.bias)

    def extra_repr(self) -> str:
        colour = f", color_groups={self.color_groups}, color_convention={self.color_convention!r}" if self.color_groups > 1 else ""
        return super().extra_repr() + f", mask_type={self.mask_type!r}" + colour


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


class ResidualBlock(nn.Module):
    """PixelCNN residual block: 1x1 (2h -> h), k x k mask B (h -> h), 1x1 (h -> 2h), plus input.

    Each convolution is preceded by normalisation and ReLU. ``channels`` is 2h. All three
    convolutions are masked (mask B) so that colour groups are respected.
    (B, channels, H, W) -> (B, channels, H, W).
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        norm: NormType = "none",
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)
