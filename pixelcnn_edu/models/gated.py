"""The Gated PixelCNN: a vertical and a horizontal stack of gated blocks, summed skips, a 1x1 head."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..checks import check_positive_int
from ..layers import GatedBlock, MaskedConv2d
from ..masks import ColorConvention, color_permutation
from .base import AutoregressiveModel, LikelihoodArg, _class_maps, _color_groups, _dilations, _input_kernel_size


class GatedPixelCNN(AutoregressiveModel):
    """The Gated PixelCNN of van den Oord et al. (2016): two stacks, gates, no blind spot.

    A vertical stack reads every row above the current one, a horizontal stack the current row
    up to the current pixel; a 1x1 link feeds the vertical stack into the horizontal one before
    its gate. Together they reach every earlier pixel, where a stack of masked k x k convolutions
    misses a wedge above and to the right. Every layer is a :class:`layers.GatedBlock`: gated
    units tanh * sigmoid, a residual connection on the horizontal stack and a skip connection to
    the output. The skips are summed -> ReLU, 1x1, ReLU, 1x1 -> distribution parameters. With
    ``skips=False`` the head reads the last horizontal stack instead (as UvA's tutorial 12 does):
    one 1x1 convolution less per layer.

    Args:
        in_channels, levels, likelihood, color_groups, color_convention: as :class:`PixelCNN`; with
            colour, the horizontal stack and the output head follow the R -> G -> B channel masks.
        hidden: p, the maps each stack carries (each gate computes 2p and keeps p).
        n_layers: gated layers after the first (mask A) one.
        kernel_size: the k x k window of the later layers' stacks (vertical k//2+1 by k,
            horizontal 1 by k//2+1).
        input_kernel_size: the window of the first layer (>= 3).
        dilations: one per later layer (default all 1).
        skip_channels: maps of the skip connections and the head (default ``2 * hidden``).
        skips: sum a skip connection from every layer into the head (True) or feed the head the
            last layer's horizontal stack (False, cheaper per layer).
        n_classes: number of classes for conditional generation: each gate gets a learned
            class-dependent bias (None: unconditional).
        class_maps: with ``n_classes``, how many learned 7x7 maps per class each of those biases
            also adds, resized to the image: a bias that varies over the image and so can say where
            the class draws (0: the same bias at every pixel); see :class:`layers.ClassBias`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        levels: int = 256,
        *,
        hidden: int = 32,
        n_layers: int = 5,
        kernel_size: int = 3,
        input_kernel_size: int = 7,
        dilations: Sequence[int] | None = None,
        skip_channels: int | None = None,
        skips: bool = True,
        n_classes: int | None = None,
        class_maps: int = 0,
        likelihood: LikelihoodArg = None,
        color_groups: int | None = None,
        color_convention: ColorConvention = "contiguous",
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood, n_classes=n_classes)
        check_positive_int("hidden", hidden)
        check_positive_int("n_layers", n_layers)
        dilations = _dilations(dilations, n_layers)
        class_maps = _class_maps(class_maps, n_classes)
        _input_kernel_size(input_kernel_size)
        skip_channels = 2 * hidden if skip_channels is None else check_positive_int("skip_channels", skip_channels)
        if not isinstance(skips, bool):
            raise TypeError(f"skips must be True or False, got {skips!r}")
        groups = _color_groups(in_channels, color_groups, color_convention, self.likelihood)
        if min(hidden, skip_channels) < groups:
            raise ValueError(f"hidden and skip_channels must be >= {groups} (one map per colour group at least), got {hidden} and {skip_channels}")
        self.color_groups, self.color_convention = groups, color_convention
        self.hidden, self.n_layers, self.kernel_size, self.input_kernel_size = hidden, n_layers, kernel_size, input_kernel_size
        self.dilations, self.skip_channels, self.skips, self.class_maps = dilations, skip_channels, skips, class_maps
        common = dict(skip_channels=skip_channels if skips else 0, n_classes=n_classes, class_maps=class_maps, color_groups=groups, color_convention=color_convention)
        self.layers = nn.ModuleList(
            [GatedBlock(in_channels, hidden, input_kernel_size, "A", residual=False, **common)]
            + [GatedBlock(hidden, hidden, kernel_size, "B", dilation=d, **common) for d in dilations]
        )
        colour = dict(color_groups=groups, color_convention=color_convention)
        out_channels = self.likelihood.param_channels(in_channels)
        self.head = nn.Sequential(
            nn.ReLU(),
            MaskedConv2d(skip_channels if skips else hidden, skip_channels, 1, "B", **colour),
            nn.ReLU(),
            MaskedConv2d(skip_channels, out_channels, 1, "B", **colour),
        )
        self.register_output_order(color_permutation(out_channels, groups, color_convention))

    @property
    def hides_current_pixel(self) -> bool:
        """As :attr:`PixelCNN.hides_current_pixel`: one colour group hides the whole current pixel."""
        return self.color_groups == 1

    can_cache = True

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        v = h = x
        skips = 0.0
        for layer in self.layers:
            v, h, skip = layer(v, h, y)
            if skip is not None:
                skips = skips + skip
        return self.in_output_order(self.head(h if skip is None else skips))
