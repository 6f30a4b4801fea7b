"""Autoregressive image models that share one interface.

Every model here

* takes a float batch ``x`` (B, C, H, W) in [0, 1] on the level grid and returns
  distribution parameters (B, P, H, W) from ``model(x, y=None)``;
* scores images with ``model.log_prob(x, y=None) -> (B, C, H, W)`` nats, where entry
  (c, i, j) depends only on sub-pixels before (c, i, j) in raster order;
* exposes ``levels``, ``in_channels``, ``likelihood`` (a :class:`likelihoods.Likelihood`),
  ``hides_current_pixel`` (whether one pass gives every channel of a pixel, for the sampler) and
  ``config()`` (its constructor arguments, so a checkpoint can rebuild it with ``models.from_config``);
* takes ``in_channels`` and ``levels`` first and every other constructor argument by keyword.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import likelihoods
from .checks import check_follows_model, check_image_size, check_images, check_labels, check_levels, check_positive_int
from .layers import (
    ClassBias,
    GatedBlock,
    GatedResNet,
    MaskedConv2d,
    MaskedLinear,
    NormType,
    PointwiseConv2d,
    ResidualBlock,
    Shift,
    ShiftedConv2d,
    ShiftedConvTranspose2d,
    make_norm,
)
from .incremental import CachedLayer
from .likelihoods import Likelihood
from .masks import ColorConvention, check_color_convention, check_kernel_size, color_permutation

LikelihoodArg = Likelihood | dict[str, Any] | None  # an object, its config() dict, or None for the model's default


def _positive_ints(name: str, values: Sequence[int]) -> list[int]:
    """``values`` (a list or tuple) as a list of ints >= 1; ``name`` names it in the error."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of ints, got {type(values).__name__} {values!r}")
    return [check_positive_int(name, v) for v in values]


def _dilations(dilations: Sequence[int] | None, n_layers: int) -> list[int]:
    """One dilation per layer, each an int >= 1 (a float such as 1.7 would be cut to 1); default all 1."""
    if dilations is None:
        return [1] * n_layers
    dilations = _positive_ints("dilations", dilations)
    if len(dilations) != n_layers:
        raise ValueError(f"dilations must have one entry per layer ({n_layers}), got {len(dilations)}")
    return dilations


def _input_kernel_size(kernel_size: int) -> int:
    """The first layer's kernel: odd, and >= 3 because a 1x1 mask-A first layer sees no pixel."""
    check_kernel_size(kernel_size, "input_kernel_size")
    if kernel_size < 3:
        raise ValueError(f"input_kernel_size must be >= 3 (a 1x1 mask-A first layer sees no pixel), got {kernel_size}")
    return kernel_size


def _color_groups(in_channels: int, color_groups: int | None, convention: str, likelihood: Likelihood) -> int:
    """Validate ``color_groups`` (None -> one group per channel, R -> G -> B) and the convention.

    A likelihood that couples the channels of a pixel (PixelCNN++'s mixture) orders them itself, so
    every parameter of a pixel must come from earlier pixels only: one colour group, whose mask A
    hides the whole current pixel.
    """
    if likelihood.couples_channels:
        if color_groups not in (None, 1):
            raise ValueError(
                f"{likelihood!r} couples the channels of a pixel itself, so the masks must hide the whole "
                f"current pixel: use color_groups=1 (or None), got {color_groups}"
            )
        check_color_convention(convention)
        return 1
    groups = in_channels if color_groups is None else color_groups
    if groups not in (1, in_channels):
        raise ValueError(
            f"color_groups must be 1 (channels independent) or in_channels={in_channels} "
            f"(each channel after the earlier ones), got {color_groups}"
        )
    check_color_convention(convention)
    return groups


class AutoregressiveModel(nn.Module):
    """Base class: input checks, ``log_prob`` and the config every model keeps.

    ``n_classes`` is None for an unconditional model; a class-conditional model takes labels
    ``y`` (B,) in [0, n_classes) in ``forward``, ``log_prob`` and sampling.

    ``can_cache`` promises that this class's ``params`` runs unchanged on a region of the image while
    its layers hold caches (:mod:`incremental`), so ``sampling`` may compute one pixel at a time. Only
    the class that defines ``params`` can promise it: a subclass with its own ``params`` samples with
    the naive loop until it sets ``can_cache = True`` itself.
    """

    can_cache: bool = False
    cache_state = None  # set while a sampling loop runs the model with caches (incremental.caching)

    def __init__(
        self, in_channels: int, levels: int, *, likelihood: LikelihoodArg = None, n_classes: int | None = None
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.n_classes = None if n_classes is None else check_positive_int("n_classes", n_classes)
        check_levels(levels)
        if likelihood is None:
            likelihood = likelihoods.Categorical(levels)
        elif isinstance(likelihood, dict):
            likelihood = likelihoods.from_config(likelihood)
        elif not isinstance(likelihood, Likelihood):
            raise TypeError(
                f"likelihood must be a likelihood object such as likelihoods.Categorical(levels) or "
                f"likelihoods.DiscretizedLogisticMixture(n_mix, levels) (or its config() dict), "
                f"got {type(likelihood).__name__} {likelihood!r}"
            )
        if likelihood.levels != levels:
            raise ValueError(
                f"likelihood has {likelihood.levels} levels but the model has levels={levels}; pass the same number to both"
            )
        self.likelihood: Likelihood = likelihood
        self._config: dict[str, Any] = {}

    @property
    def levels(self) -> int:
        """Number of values each sub-pixel can take."""
        return self.likelihood.levels

    @property
    def hides_current_pixel(self) -> bool:
        """True if the parameters of pixel (i, j) depend on no sub-pixel of (i, j), so one pass gives
        the parameters of all its channels and the sampler runs the network once per pixel instead of
        once per sub-pixel. For one channel a causal model always hides it; for colour it depends on
        the masks, and False (a pass per channel) is always correct, only slower."""
        return self.in_channels == 1

    def config(self) -> dict[str, Any]:
        """The constructor arguments (plain Python values) that rebuild this model."""
        return dict(self._config, likelihood=self.likelihood.config())

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Distribution parameters (B, P, H, W) for images ``x`` (B, C, H, W) in [0, 1]."""
        if self.cache_state is not None:
            raise RuntimeError(
                "this model is inside a cached sampling loop, which computes one region at a time; "
                "finish or close() that loop before calling the model on whole images"
            )
        check_images(x, in_channels=self.in_channels, levels=self.levels)
        check_follows_model(x, self)
        check_labels(y, batch_size=x.shape[0], n_classes=self.n_classes)
        self.check_image_size(tuple(x.shape[2:]))
        return self.params(2.0 * x - 1.0, y)  # the network sees inputs centred on 0, in [-1, 1]

    def check_image_size(self, size: tuple[int, int]) -> None:
        """Raise a ValueError if the model cannot take images of ``size`` (H, W); any size by default."""

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The network proper: (B, C, H, W) in [-1, 1] -> parameters (B, P, H, W)."""
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x_(c,i,j) | earlier sub-pixels) in nats, shape (B, C, H, W)."""
        return self.likelihood.log_prob(self(x, y), x)


class PixelCNN(AutoregressiveModel):
    """The residual PixelCNN of van den Oord et al. (2016), as in seeds 000 and 001.

    7x7 mask-A convolution -> ``n_layers`` residual blocks (1x1 -> k x k mask B -> 1x1,
    ``hidden`` -> ``hidden // 2`` -> ``hidden``) -> ReLU, 1x1, ReLU, 1x1 output head.

    Args:
        in_channels: image channels C.
        levels: values per sub-pixel (2 for binary images, 256 for 8-bit).
        hidden: feature maps between blocks (2h in seed 001's notation).
        n_layers: number of residual blocks.
        kernel_size: odd kernel size of the mask-B convolution inside each block.
        input_kernel_size: odd kernel size (>= 3) of the first, mask-A convolution.
        dilations: one dilation per block (e.g. (1, 2, 1, 3, 1, 2, 1)); default all 1.
        norm: "none", "layer" (per pixel and colour group, causal) or "batch" (seed 001; leaks in
            training mode).
        likelihood: output distribution; default ``Categorical(levels)``.
        color_groups: how the channels of one pixel depend on each other. ``None`` (default) means
            ``in_channels``: each channel is its own group, predicted after the earlier ones
            (R -> G -> B). ``1`` predicts all channels of a pixel independently given earlier pixels.
        color_convention: which feature maps belong to which colour: "contiguous" thirds (default)
            or "interleaved" (``channel % 3``). The masks and the output head use the same one.
        n_classes: number of classes for class-conditional generation (None: unconditional); a
            learned class bias is added after the input convolution and inside every block.
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
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood, n_classes=n_classes)
        check_positive_int("hidden", hidden)
        check_positive_int("n_layers", n_layers)
        dilations = _dilations(dilations, n_layers)
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
        self._config = dict(
            in_channels=in_channels, levels=levels, hidden=hidden, n_layers=n_layers, kernel_size=kernel_size,
            input_kernel_size=input_kernel_size, dilations=dilations, norm=norm, color_groups=groups,
            color_convention=color_convention, n_classes=n_classes,
        )
        colour = dict(color_groups=groups, color_convention=color_convention)
        out_channels = self.likelihood.param_channels(in_channels)
        self.input_conv = MaskedConv2d(in_channels, hidden, input_kernel_size, "A", **colour)
        self.input_bias = ClassBias(n_classes, hidden)
        self.blocks = nn.ModuleList(
            ResidualBlock(hidden, kernel_size, dilation=d, norm=norm, n_classes=n_classes, **colour) for d in dilations
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
        self.register_buffer("output_order", color_permutation(out_channels, groups, color_convention), persistent=False)

    @property
    def hides_current_pixel(self) -> bool:
        """With one colour group every mask A hides the whole current pixel; with R -> G -> B groups
        G's and B's parameters read the current R (and G)."""
        return self.color_groups == 1

    can_cache = True

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        features = self.input_bias(self.input_conv(x), y)
        for block in self.blocks:
            features = block(features, y)
        out = self.head(features)  # (B, P, H, W), maps in colour-convention order
        return out[:, self.output_order]


class GatedPixelCNN(AutoregressiveModel):
    """The Gated PixelCNN of van den Oord et al. (2016): two stacks, gates, no blind spot.

    A vertical stack reads every row above the current one, a horizontal stack the current row
    up to the current pixel; a 1x1 link feeds the vertical stack into the horizontal one before
    its gate. Together they reach every earlier pixel, where a stack of masked k x k convolutions
    misses a wedge above and to the right. Every layer is a :class:`layers.GatedBlock`: gated
    units tanh * sigmoid, a residual connection on the horizontal stack and a skip connection to
    the output. The skips are summed -> ReLU, 1x1, ReLU, 1x1 -> distribution parameters.

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
        n_classes: number of classes for conditional generation: each gate gets a learned
            class-dependent bias (None: unconditional).
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
        n_classes: int | None = None,
        likelihood: LikelihoodArg = None,
        color_groups: int | None = None,
        color_convention: ColorConvention = "contiguous",
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood, n_classes=n_classes)
        check_positive_int("hidden", hidden)
        check_positive_int("n_layers", n_layers)
        dilations = _dilations(dilations, n_layers)
        _input_kernel_size(input_kernel_size)
        skip_channels = 2 * hidden if skip_channels is None else check_positive_int("skip_channels", skip_channels)
        groups = _color_groups(in_channels, color_groups, color_convention, self.likelihood)
        if min(hidden, skip_channels) < groups:
            raise ValueError(f"hidden and skip_channels must be >= {groups} (one map per colour group at least), got {hidden} and {skip_channels}")
        self.color_groups, self.color_convention = groups, color_convention
        self._config = dict(
            in_channels=in_channels, levels=levels, hidden=hidden, n_layers=n_layers, kernel_size=kernel_size,
            input_kernel_size=input_kernel_size, dilations=dilations, skip_channels=skip_channels,
            n_classes=n_classes, color_groups=groups, color_convention=color_convention,
        )
        common = dict(skip_channels=skip_channels, n_classes=n_classes, color_groups=groups, color_convention=color_convention)
        self.layers = nn.ModuleList(
            [GatedBlock(in_channels, hidden, input_kernel_size, "A", residual=False, **common)]
            + [GatedBlock(hidden, hidden, kernel_size, "B", dilation=d, **common) for d in dilations]
        )
        colour = dict(color_groups=groups, color_convention=color_convention)
        out_channels = self.likelihood.param_channels(in_channels)
        self.head = nn.Sequential(
            nn.ReLU(),
            MaskedConv2d(skip_channels, skip_channels, 1, "B", **colour),
            nn.ReLU(),
            MaskedConv2d(skip_channels, out_channels, 1, "B", **colour),
        )
        self.register_buffer("output_order", color_permutation(out_channels, groups, color_convention), persistent=False)

    @property
    def hides_current_pixel(self) -> bool:
        """As :attr:`PixelCNN.hides_current_pixel`: one colour group hides the whole current pixel."""
        return self.color_groups == 1

    can_cache = True

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        v = h = x
        skips = 0.0
        for layer in self.layers:
            v, h, skip = layer(v, h, y)
            skips = skips + skip
        return self.head(skips)[:, self.output_order]


class PixelCNNPlusPlus(AutoregressiveModel):
    """PixelCNN++ (Salimans et al., 2017): shifted convolutions, a U-Net of gated ResNet blocks and a
    discretised logistic mixture.

    Two streams replace masks: ``u`` holds everything strictly above a pixel (down-shifted
    convolutions), ``ul`` everything above and to its left (down-right-shifted). Neither holds the
    pixel itself, so the parameters of a pixel come from earlier pixels only and the mixture's
    coupling supplies the order R -> G -> B inside it. The streams run through three resolutions:
    ``n_resnet`` gated ResNet blocks at full size, a stride-2 down-sampling, ``n_resnet`` blocks at
    half size, again at a quarter; then back up with transposed convolutions, ``n_resnet + 1`` blocks
    per stage that also read the down pass's outputs at the same resolution (the long skip
    connections). Images need H and W divisible by 4.

    Args:
        in_channels, levels: image channels and values per sub-pixel.
        hidden: feature maps of both streams (the paper: 160).
        n_resnet: gated ResNet blocks per stage of the down pass (the paper: 5).
        n_mix: logistic components of the default likelihood ``DiscretizedLogisticMixture(n_mix, levels)``;
            None means 10. With a ``likelihood`` leave it out: a number that differs from the
            likelihood's own is an error (rather than a config that misdescribes the model), and
            ``config()["n_mix"]`` is always the likelihood's (None for one that is not a mixture).
        dropout: dropout inside every block (the paper: 0.5).
        n_classes: class-conditional generation: a learned class bias in every block (None: off).
        likelihood: another output distribution; it must not need R -> G -> B masks inside a pixel
            for colour images (use a coupled mixture, or accept channels independent given the past).
    """

    def __init__(
        self,
        in_channels: int = 3,
        levels: int = 256,
        *,
        hidden: int = 32,
        n_resnet: int = 1,
        n_mix: int | None = None,
        dropout: float = 0.0,
        n_classes: int | None = None,
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
        check_positive_int("n_resnet", n_resnet)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self._config = dict(
            in_channels=in_channels, levels=levels, hidden=hidden, n_resnet=n_resnet, n_mix=n_mix, dropout=dropout,
            n_classes=n_classes,
        )
        h = hidden
        block = dict(dropout=dropout, n_classes=n_classes)
        c = in_channels + 1  # the image plus a channel of ones, which tells the padding from black pixels
        self.u_start = ShiftedConv2d(c, h, (2, 3), "down")
        self.ul_start_above = ShiftedConv2d(c, h, (1, 3), "down")
        self.ul_start_left = ShiftedConv2d(c, h, (2, 1), "downright")
        self.shift_down, self.shift_down_ul, self.shift_right = Shift("down"), Shift("down"), Shift("right")
        self.down_u = nn.ModuleList(nn.ModuleList(GatedResNet(h, "down", **block) for _ in range(n_resnet)) for _ in range(3))
        self.down_ul = nn.ModuleList(
            nn.ModuleList(GatedResNet(h, "downright", aux_channels=h, **block) for _ in range(n_resnet)) for _ in range(3)
        )
        self.shrink_u = nn.ModuleList(ShiftedConv2d(h, h, (2, 3), "down", stride=2) for _ in range(2))
        self.shrink_ul = nn.ModuleList(ShiftedConv2d(h, h, (2, 2), "downright", stride=2) for _ in range(2))
        sizes = [n_resnet, n_resnet + 1, n_resnet + 1]  # blocks per stage of the up pass, smallest first
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

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        b, _, height, width = x.shape
        x = torch.cat([x, torch.ones(b, 1, height, width, device=x.device, dtype=x.dtype)], dim=1)
        u = self.shift_down(self.u_start(x))  # strictly above
        ul = self.shift_down_ul(self.ul_start_above(x)) + self.shift_right(self.ul_start_left(x))  # above, and left in the row
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
        hidden: widths of the hidden layers.
    """

    def __init__(
        self,
        in_channels: int = 1,
        levels: int = 2,
        *,
        image_size: int | Sequence[int] = (28, 28),
        hidden: Sequence[int] = (512,),
        likelihood: LikelihoodArg = None,
    ) -> None:
        super().__init__(in_channels, levels, likelihood=likelihood)
        if self.likelihood.couples_channels and in_channels > 1:
            raise ValueError(f"MADE gives every sub-pixel its own parameters; {self.likelihood!r} couples channels, use coupled=False")
        h, w = check_image_size(image_size)
        hidden = _positive_ints("hidden", hidden)
        self.image_size = (h, w)
        self._config = dict(in_channels=in_channels, levels=levels, image_size=[h, w], hidden=hidden)
        d = in_channels * h * w
        if d < 2:
            raise ValueError(f"MADE needs at least 2 sub-pixels, got C*H*W = {d}")
        self.per_dim = self.likelihood.param_channels(in_channels) // in_channels  # outputs per sub-pixel
        degrees = [torch.arange(1, d + 1)]  # input k has degree k
        for width in hidden:
            degrees.append(torch.arange(width) % (d - 1) + 1)  # 1..D-1, cycling
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

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        b, c, h, w = x.shape  # the whole image, or while sampling with a cache the current region
        flat = x.permute(0, 2, 3, 1).reshape(b, -1)  # raster order: rows, columns, channels
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
        self._config = dict(in_channels=in_channels, levels=levels, image_size=[h, w])
        self.logits = nn.Parameter(torch.zeros(self.likelihood.param_channels(in_channels), h, w))

    def check_image_size(self, size: tuple[int, int]) -> None:
        if tuple(size) != self.image_size:
            raise ValueError(f"IndependentPixels was built for images of size {self.image_size}, got {tuple(size)}")

    hides_current_pixel = True  # it reads no pixel at all
    can_cache = True  # nothing to remember: while sampling with a cache it hands out the region's logits

    def params(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.cache_state is not None:
            r0, r1, c0, c1 = self.cache_state.region_at(1)
            return self.logits[:, r0:r1, c0:c1].expand(x.shape[0], -1, -1, -1)
        return self.logits.expand(x.shape[0], -1, -1, -1)


MODELS: dict[str, type[AutoregressiveModel]] = {
    "pixelcnn": PixelCNN,
    "gated": GatedPixelCNN,
    "pixelcnn++": PixelCNNPlusPlus,
    "made": MADE,
    "independent": IndependentPixels,
}


def model_name(model: AutoregressiveModel) -> str:
    """The registry name of a model's class (the key in ``MODELS``)."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model; known: {sorted(MODELS)}")


def from_config(name: str, config: dict[str, Any]) -> AutoregressiveModel:
    """Rebuild a model from its registry name and ``config()``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**config)
