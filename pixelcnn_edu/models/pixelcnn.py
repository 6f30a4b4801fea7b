"""The residual PixelCNN: a mask-A convolution, masked residual blocks and a 1x1 head."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..checks import check_positive_int
from ..layers import ClassBias, MaskedConv2d, NormType, ResidualBlock, make_norm
from ..masks import ColorConvention, color_permutation
from .base import AutoregressiveModel, LikelihoodArg, _class_maps, _color_groups, _dilations, _input_kernel_size


class PixelCNN(AutoregressiveModel):
    """The residual PixelCNN of van den Oord et al. (2016), as in Hoang Pham's lab report and the
    PyTorch tutorial the course started from.

    7x7 mask-A convolution -> ``n_layers`` residual blocks (1x1 -> k x k mask B -> 1x1,
    ``hidden`` -> ``hidden // 2`` -> ``hidden``) -> ReLU, 1x1, ReLU, 1x1 output head.

    Args:
        in_channels: image channels C.
        levels: values per sub-pixel (2 for binary images, 256 for 8-bit).
        hidden: feature maps between blocks (2h in the tutorial's notation).
        n_layers: number of residual blocks.
        kernel_size: odd kernel size of the mask-B convolution inside each block.
        input_kernel_size: odd kernel size (>= 3) of the first, mask-A convolution.
        dilations: one dilation per block (e.g. (1, 2, 1, 3, 1, 2, 1)); default all 1.
        norm: "none", "layer" (per pixel and colour group, causal) or "batch" (the tutorial's; leaks in
            training mode).
        likelihood: output distribution; default ``Categorical(levels)``.
        color_groups: how the channels of one pixel depend on each other. ``None`` (default) means
            ``in_channels``: each channel is its own group, predicted after the earlier ones
            (R -> G -> B). ``1`` predicts all channels of a pixel independently given earlier pixels.
        color_convention: which feature maps belong to which colour: "contiguous" thirds (default)
            or "interleaved" (``channel % 3``). The masks and the output head use the same one.
        n_classes: number of classes for class-conditional generation (None: unconditional); a
            learned class bias is added after the input convolution and inside every block.
        class_maps: with ``n_classes``, learned 7x7 maps per class that make each class bias vary
            over the image (0: the same bias at every pixel); see :class:`layers.ClassBias`.
        residual: keep each block's identity path (default). ``False`` drops it (the lab report's
            "no skip" ablation): the blocks become a plain stack of masked convolutions, as causal
            as before, but harder to train when deep.
    """

    def __init__(
        self,
        in_channels: int = 1,
        levels: int = 256,
        *,
        hidden: int = 64,
        n_layers: int = 5,
        kernel_size: int = 3,
        input_kernel_size: int = 7,
        dilations: Sequence[int] | None = None,
        norm: NormType = "none",
        likelihood: LikelihoodArg = None,
        color_groups: int | None = None,
        color_convention: ColorConvention = "contiguous",
        n_classes: int | None = None,
        residual: bool = True,
        class_maps: int = 0,
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood, n_classes=n_classes)
        check_positive_int("hidden", hidden)
        check_positive_int("n_layers", n_layers)
        dilations = _dilations(dilations, n_layers)
        class_maps = _class_maps(class_maps, n_classes)
        make_norm(norm, 2)  # validates the name early
        _input_kernel_size(input_kernel_size)
        groups = _color_groups(in_channels, color_groups, color_convention, self.likelihood)
        min_hidden = 2 * groups * (2 if norm == "layer" else 1)  # the blocks' hidden // 2 maps need every colour
        if hidden < min_hidden:
            raise ValueError(
                f"hidden must be >= {min_hidden} for {groups} colour group(s)"
                f"{' with norm=layer' if norm == 'layer' else ''} (each group needs its own maps), got {hidden}"
            )
        self.color_groups, self.color_convention = groups, color_convention
        self.hidden, self.n_layers, self.kernel_size, self.input_kernel_size = hidden, n_layers, kernel_size, input_kernel_size
        self.dilations, self.norm, self.residual, self.class_maps = dilations, norm, residual, class_maps
        colour = dict(color_groups=groups, color_convention=color_convention)
        out_channels = self.likelihood.param_channels(in_channels)
        self.input_conv = MaskedConv2d(in_channels, hidden, input_kernel_size, "A", **colour)
        self.input_bias = ClassBias(n_classes, hidden, class_maps)
        self.blocks = nn.ModuleList(
            ResidualBlock(hidden, kernel_size, dilation=d, norm=norm, n_classes=n_classes, residual=residual, class_maps=class_maps, **colour)
            for d in dilations
        )
        self.head = nn.Sequential(
            make_norm(norm, hidden, **colour),
            nn.ReLU(),
            MaskedConv2d(hidden, hidden, 1, "B", **colour),
            nn.ReLU(),
            MaskedConv2d(hidden, out_channels, 1, "B", **colour),
        )
        # The head's output maps carry colours assigned by the same function as the masks; gather
        # them into one block per channel (R's parameters, then G's, then B's) for the likelihood.
        self.register_output_order(color_permutation(out_channels, groups, color_convention))

    @property
    def hides_current_pixel(self) -> bool:
        """With one colour group every mask A hides the whole current pixel; with R -> G -> B groups
        G's and B's parameters read the current R (and G)."""
        return self.color_groups == 1

    can_cache = True

    def network(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        features = self.input_bias(self.input_conv(x), y)
        for block in self.blocks:
            features = block(features, y)
        out = self.head(features)  # (B, P, H, W), maps in colour-convention order
        return self.in_output_order(out)
