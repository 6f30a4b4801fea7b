"""PixelCNN++: two shifted streams through a U-Net of gated ResNet blocks, a logistic mixture."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import likelihoods
from ..checks import check_levels, check_positive_int
from ..incremental import CachedLayer
from ..layers import GatedResNet, PointwiseConv2d, Shift, ShiftedConv2d, ShiftedConvTranspose2d
from .base import AutoregressiveModel, LikelihoodArg, _class_maps, _dropout


class PixelCNNPlusPlus(AutoregressiveModel):
    """PixelCNN++ (Salimans et al., 2017): shifted convolutions, a U-Net of gated ResNet blocks and a
    discretised logistic mixture.

    Two streams replace masks: ``u`` holds everything strictly above a pixel (down-shifted
    convolutions), ``ul`` everything above and to its left (down-right-shifted). Neither holds the
    pixel itself, so the parameters of a pixel come from earlier pixels only and the mixture's
    coupling supplies the order R -> G -> B inside it. The streams run through three resolutions:
    ``n_layers`` gated ResNet blocks at full size, a stride-2 down-sampling, ``n_layers`` blocks at
    half size, again at a quarter; then back up with transposed convolutions, ``n_layers + 1`` blocks
    per stage that also read the down pass's outputs at the same resolution (the long skip
    connections). Images need H and W divisible by 4.

    Args:
        in_channels, levels: image channels (1 grey, 3 colour) and values per sub-pixel.
        hidden: feature maps of both streams (the paper: 160).
        n_layers: gated ResNet blocks per stage of the down pass (the paper: 5); the up pass has
            ``n_layers + 1`` per stage. The unit is a stage's blocks, as in the paper.
        n_mix: logistic components of the default likelihood ``DiscretizedLogisticMixture(n_mix, levels)``;
            None means 10. With a ``likelihood`` leave it out: a number that differs from the
            likelihood's own is an error (rather than a config that misdescribes the model), and
            ``config()["n_mix"]`` is always the likelihood's (None for one that is not a mixture).
        dropout: dropout inside every block (the paper: 0.5).
        n_classes: class-conditional generation: a learned class bias in every block (None: off).
        class_maps: with ``n_classes``, learned 7x7 maps per class that make each class bias vary
            over the image (0: the same bias everywhere); see :class:`layers.ClassBias`.
        likelihood: another output distribution; it must not need R -> G -> B masks inside a pixel
            for colour images (use a coupled mixture, or accept channels independent given the past).
    """

    def __init__(
        self,
        in_channels: int = 1,
        levels: int = 256,
        *,
        hidden: int = 32,
        n_layers: int = 1,
        n_mix: int | None = None,
        dropout: float = 0.0,
        n_classes: int | None = None,
        class_maps: int = 0,
        likelihood: LikelihoodArg = None,
    ) -> None:
        if n_mix is not None:
            check_positive_int("n_mix", n_mix)
        if likelihood is None:
            likelihood = likelihoods.DiscretizedLogisticMixture(10 if n_mix is None else n_mix, check_levels(levels))
        super().__init__(in_channels, levels, likelihood=likelihood, n_classes=n_classes)
        mixture = self.likelihood if isinstance(self.likelihood, likelihoods.DiscretizedLogisticMixture) else None
        if n_mix is not None and mixture is None:
            raise ValueError(f"n_mix applies to the default logistic mixture; {self.likelihood!r} has none, so leave n_mix out")
        if n_mix is not None and n_mix != mixture.n_mix:
            raise ValueError(f"n_mix={n_mix} conflicts with the likelihood's n_mix={mixture.n_mix}; give only the likelihood")
        n_mix = None if mixture is None else mixture.n_mix
        check_positive_int("hidden", hidden)
        check_positive_int("n_layers", n_layers)
        dropout = _dropout(dropout)
        class_maps = _class_maps(class_maps, n_classes)
        self.hidden, self.n_layers, self.n_mix, self.dropout, self.class_maps = hidden, n_layers, n_mix, dropout, class_maps
        h = hidden
        block = dict(dropout=dropout, n_classes=n_classes, class_maps=class_maps)
        c = in_channels + 1  # the image plus a channel of ones, which tells the padding from black pixels
        self.u_start = ShiftedConv2d(c, h, (2, 3), "down")
        self.ul_start_above = ShiftedConv2d(c, h, (1, 3), "down")
        self.ul_start_left = ShiftedConv2d(c, h, (2, 1), "downright")
        self.shift_down, self.shift_down_ul, self.shift_right = Shift("down"), Shift("down"), Shift("right")
        self.down_u = nn.ModuleList(nn.ModuleList(GatedResNet(h, "down", **block) for _ in range(n_layers)) for _ in range(3))
        self.down_ul = nn.ModuleList(
            nn.ModuleList(GatedResNet(h, "downright", aux_channels=h, **block) for _ in range(n_layers)) for _ in range(3)
        )
        self.shrink_u = nn.ModuleList(ShiftedConv2d(h, h, (2, 3), "down", stride=2) for _ in range(2))
        self.shrink_ul = nn.ModuleList(ShiftedConv2d(h, h, (2, 2), "downright", stride=2) for _ in range(2))
        sizes = [n_layers, n_layers + 1, n_layers + 1]  # blocks per stage of the up pass, smallest first
        self.up_u = nn.ModuleList(
            nn.ModuleList(GatedResNet(h, "down", aux_channels=h, **block) for _ in range(n)) for n in sizes
        )
        self.up_ul = nn.ModuleList(
            nn.ModuleList(GatedResNet(h, "downright", aux_channels=2 * h, **block) for _ in range(n)) for n in sizes
        )
        self.grow_u = nn.ModuleList(ShiftedConvTranspose2d(h, h, (2, 3), "down") for _ in range(2))
        self.grow_ul = nn.ModuleList(ShiftedConvTranspose2d(h, h, (2, 2), "downright") for _ in range(2))
        self.head = PointwiseConv2d(h, self.likelihood.param_channels(in_channels))
        # While sampling with a cache, each layer must know the resolution of its input (1 = full size).
        stages = [(self.down_u, self.down_ul, (1, 2, 4)), (self.up_u, self.up_ul, (4, 2, 1))]
        resampling = [(self.shrink_u, self.shrink_ul, (1, 2)), (self.grow_u, self.grow_ul, (4, 2))]
        for u_part, ul_part, scales in stages + resampling:
            for scale, u_stage, ul_stage in zip(scales, u_part, ul_part):
                for layer in [*u_stage.modules(), *ul_stage.modules()]:
                    if isinstance(layer, CachedLayer):
                        layer.cache_scale = scale

    hides_current_pixel = True  # the streams hold strictly earlier pixels: the likelihood orders the channels

    can_cache = True

    def check_image_size(self, size: tuple[int, int]) -> None:
        if size[0] % 4 or size[1] % 4:
            raise ValueError(f"PixelCNNPlusPlus halves the image twice: H and W must be divisible by 4, got {size}")

    def start_streams(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first layer: images (B, C, H, W) -> the ``u`` stream (down-shifted: rows strictly
        above each pixel) and the ``ul`` stream (down-right-shifted: above, and left in the row),
        each (B, hidden, H, W)."""
        b, _, height, width = x.shape
        x = torch.cat([x, torch.ones(b, 1, height, width, device=x.device, dtype=x.dtype)], dim=1)
        u = self.shift_down(self.u_start(x))  # strictly above
        ul = self.shift_down_ul(self.ul_start_above(x)) + self.shift_right(self.ul_start_left(x))  # above, and left in the row
        return u, ul

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        u, ul = self.start_streams(x)
        us, uls = [u], [ul]
        for stage in range(3):  # down pass: full, half, quarter size
            for u_block, ul_block in zip(self.down_u[stage], self.down_ul[stage]):
                us.append(u_block(us[-1], y=y))
                uls.append(ul_block(uls[-1], us[-1], y=y))
            if stage < 2:
                us.append(self.shrink_u[stage](us[-1]))
                uls.append(self.shrink_ul[stage](uls[-1]))
        u, ul = us.pop(), uls.pop()
        for stage in range(3):  # up pass: quarter, half, full size, reading the down pass's outputs
            for u_block, ul_block in zip(self.up_u[stage], self.up_ul[stage]):
                u = u_block(u, us.pop(), y=y)
                ul = ul_block(ul, torch.cat([u, uls.pop()], dim=1), y=y)
            if stage < 2:
                u, ul = self.grow_u[stage](u), self.grow_ul[stage](ul)
        return self.head(F.elu(ul))
