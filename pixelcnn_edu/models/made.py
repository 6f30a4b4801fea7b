"""Models over the flattened image: MADE (a masked MLP) and the independent-pixels baseline."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..checks import check_image_size, check_positive_int
from ..layers import MaskedLinear
from .base import AutoregressiveModel, LikelihoodArg


class MADE(AutoregressiveModel):
    """MADE (Germain et al., 2015): a masked MLP over the flattened image.

    The D = C*H*W sub-pixels are numbered in raster order (rows, columns, channels). Hidden
    unit degrees cycle through 1..D-1; a unit of degree m reads inputs 1..m, and the output
    for sub-pixel k reads only hidden units of degree < k. So output k depends on inputs
    before k only: the same autoregressive property as PixelCNN, without convolutions.

    Output k of a colour image reads the channels of its pixel before it, so MADE hides the current
    pixel only for grey images (:attr:`hides_current_pixel`, inherited).

    Args:
        image_size: (H, W) of the images, or an int n for n x n (MADE is tied to one size).
        hidden: units in each hidden layer.
        n_layers: hidden layers between the input and the output layer.
    """

    def __init__(
        self,
        in_channels: int = 1,
        levels: int = 2,
        *,
        image_size: int | Sequence[int] = (28, 28),
        hidden: int = 512,
        n_layers: int = 1,
        likelihood: LikelihoodArg = None,
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood)
        if self.likelihood.couples_channels and in_channels > 1:
            raise ValueError(f"MADE gives every sub-pixel its own parameters; {self.likelihood!r} couples channels, use coupled=False")
        h, w = check_image_size(image_size)
        self.hidden, self.n_layers = check_positive_int("hidden", hidden), check_positive_int("n_layers", n_layers)
        self.image_size = (h, w)
        d = in_channels * h * w
        if d < 2:
            raise ValueError(f"MADE needs at least 2 sub-pixels, got C*H*W = {d}")
        self.per_dim = self.likelihood.param_channels(in_channels) // in_channels  # outputs per sub-pixel
        degrees = [torch.arange(1, d + 1)]  # input k has degree k
        for _ in range(n_layers):
            degrees.append(torch.arange(hidden) % (d - 1) + 1)  # 1..D-1, cycling
        layers: list[nn.Module] = []
        raster_in = in_channels  # the first layer reads the sub-pixels in raster order, C per pixel
        for d_in, d_out in zip(degrees[:-1], degrees[1:]):
            layers += [MaskedLinear((d_out[:, None] >= d_in[None, :]).float(), in_per_pixel=raster_in), nn.ReLU()]
            raster_in = None
        out_degree = torch.arange(1, d + 1).repeat_interleave(self.per_dim)
        layers.append(
            MaskedLinear((out_degree[:, None] > degrees[-1][None, :]).float(), in_per_pixel=raster_in, out_per_pixel=in_channels * self.per_dim)
        )
        self.net = nn.Sequential(*layers)

    can_cache = True

    def check_image_size(self, size: tuple[int, int]) -> None:
        if tuple(size) != self.image_size:
            raise ValueError(f"MADE was built for images of size {self.image_size}, got {tuple(size)}")

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        b, c, h, w = x.shape  # the whole image, or while sampling with a cache the current region
        flat = x.permute(0, 2, 3, 1).reshape(b, h * w * c)  # raster order: rows, columns, channels (b may be 0)
        out = self.net(flat).view(b, h, w, c, self.per_dim)
        return out.permute(0, 3, 4, 1, 2).reshape(b, c * self.per_dim, h, w)


class IndependentPixels(AutoregressiveModel):
    """Baseline: every sub-pixel has its own learned distribution and ignores all others.

    At initialisation all logits are zero, so it is the uniform model scoring exactly
    log2(levels) bits per dimension.
    """

    def __init__(
        self, in_channels: int = 1, levels: int = 2, *, image_size: int | Sequence[int] = (28, 28), likelihood: LikelihoodArg = None
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood)
        h, w = check_image_size(image_size)
        self.image_size = (h, w)
        self.logits = nn.Parameter(torch.zeros(self.likelihood.param_channels(in_channels), h, w))

    def check_image_size(self, size: tuple[int, int]) -> None:
        if tuple(size) != self.image_size:
            raise ValueError(f"IndependentPixels was built for images of size {self.image_size}, got {tuple(size)}")

    hides_current_pixel = True  # it reads no pixel at all
    can_cache = True  # nothing to remember: while sampling with a cache it hands out the region's logits

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.cache_state is not None:
            r0, r1, c0, c1 = self.cache_state.region_at(1)
            return self.logits[:, r0:r1, c0:c1].expand(x.shape[0], -1, -1, -1)
        return self.logits.expand(x.shape[0], -1, -1, -1)
