"""Normalisation layers that keep a model causal: per pixel, and per colour group."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..masks import ColorConvention, color_of

NormType = Literal["none", "batch", "layer"]


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
    "batch": BatchNorm2d, as in the PyTorch tutorial the course started from. In training mode its
    batch statistics mix all positions, so outputs depend (weakly) on future pixels; in eval mode it is causal.
    """
    if not isinstance(norm, str):
        raise TypeError(f"norm must be 'none', 'batch' or 'layer', got {type(norm).__name__} {norm!r}")
    if norm == "none":
        return nn.Identity()
    if norm == "layer":
        return ChannelLayerNorm(channels, color_groups, color_convention)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'none', 'batch' or 'layer', got {norm!r}")
