"""Masked convolutions and the small layers PixelCNN's blocks are built from.

``MaskedConv2d`` (the PixelCNN convolution), ``MaskedLinear`` (MADE's layer), ``ClassBias``
(conditioning), ``PointwiseConv2d`` (a cached 1x1 convolution) and ``ResidualBlock`` (the residual
PixelCNN's block). The mask is a non-persistent buffer applied in every forward pass
(``weight * mask``), so masked weights receive exactly zero gradient and a checkpoint can never
swap one mask for another.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int, check_positive_int
from ..incremental import CachedConv, CachedLayer
from ..masks import ColorConvention, MaskType, check_kernel_size, check_mask_type, conv_mask
from .norms import NormType, make_norm


class MaskedConv2d(CachedConv, nn.Conv2d):
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

    Input (B, in_channels, H, W) -> output (B, out_channels, H, W). While sampling with a cache
    (:mod:`incremental`) it computes only the current region, reading earlier positions from a
    buffer of its past input.
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
        check_positive_int("dilation", dilation)
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
        self.keeps_every_weight = bool(mask.all())  # e.g. a grey 1x1 mask B: nothing to multiply

    def masked_weight(self) -> torch.Tensor:
        """``weight * mask`` (the multiplication is skipped when the mask keeps every weight)."""
        return self.weight if self.keeps_every_weight else self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return self._conv_forward(x, self.masked_weight(), self.bias)

    def _cache_geometry(self):
        pad_h, pad_w = self.padding
        return (pad_w, pad_w, pad_h, pad_h), self.masked_weight(), self.bias, 1, self.dilation[0]

    def extra_repr(self) -> str:
        colour = f", color_groups={self.color_groups}, color_convention={self.color_convention!r}" if self.color_groups > 1 else ""
        return super().extra_repr() + f", mask_type={self.mask_type!r}" + colour


class MaskedLinear(CachedLayer, nn.Linear):
    """A linear layer with a fixed 0/1 connectivity mask (used by MADE).

    ``mask`` has shape (out_features, in_features); ``mask[o, i] = 1`` lets output o read input i.

    For cached sampling, ``in_per_pixel`` (``out_per_pixel``) says that the input (output) features
    are laid out in raster order, that many per pixel; a region's forward then takes (gives) only the
    features of the region's pixels. A raster-ordered input is absorbed one region at a time: the
    pre-activation ``bias + W x`` is updated by the columns of the values that changed, so each drawn
    sub-pixel costs one column of W instead of the whole product. A raster-ordered output computes
    only the region's rows of W. Hidden features (``None``) are computed in full.
    """

    mask: torch.Tensor

    def __init__(
        self, mask: torch.Tensor, bias: bool = True, in_per_pixel: int | None = None, out_per_pixel: int | None = None
    ) -> None:
        if mask.dim() != 2:
            raise ValueError(f"mask must be 2-D (out_features, in_features), got shape {tuple(mask.shape)}")
        out_features, in_features = mask.shape
        super().__init__(in_features, out_features, bias=bias)
        self.in_per_pixel, self.out_per_pixel = in_per_pixel, out_per_pixel
        self.register_buffer("mask", mask.to(torch.float32).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return F.linear(x, self.weight * self.mask, self.bias)

    def _features(self, per_pixel: int | None) -> slice:
        """The raster-ordered features of the current region (one row, or whole rows)."""
        return slice(*self.cache.raster_range(per_pixel))

    def start_cache(self, state) -> None:
        super().start_cache(state)
        self._weight = self.weight * self.mask  # masked once for the whole sampling
        self._pre: torch.Tensor | None = None

    def stop_cache(self) -> None:
        super().stop_cache()
        self._weight = self._pre = None

    def _forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self._weight, self.bias
        if self.in_per_pixel is None:
            if self.out_per_pixel is None:
                return F.linear(x, weight, bias)
            rows = self._features(self.out_per_pixel)
            return F.linear(x, weight[rows], None if bias is None else bias[rows])
        cols = self._features(self.in_per_pixel)
        if self._buffer is None:  # the input so far (B, in), and bias + W @ (input so far) (B, out)
            self._buffer = x.new_zeros(x.shape[0], self.in_features)
            self._pre = x.new_zeros(x.shape[0], self.out_features) + (0.0 if bias is None else bias)
        change = x - self._buffer[:, cols]  # nonzero only where a value was drawn since the last pass
        self._buffer[:, cols] = x
        self._pre = self._pre + change @ weight[:, cols].T
        if self.out_per_pixel is None:
            return self._pre
        return self._pre[:, self._features(self.out_per_pixel)]


class ClassBias(CachedLayer, nn.Module):
    """A learned bias per class added to a feature map (conditioning), optionally one per position.

    ``forward(x, y)`` adds to ``x`` (B, channels, H, W) the bias of labels ``y`` (B,), or returns
    ``x`` itself when the layer is off (``n_classes=None``). Every class has a bias vector, the same
    at every pixel. With ``maps`` > 0 it also has ``maps`` learned ``map_size`` x ``map_size``
    pictures, resized to the feature map (bilinear) and mixed into ``channels`` by a 1x1
    convolution: a bias that can say *where* the class puts its strokes (the location-dependent
    conditioning of van den Oord et al. 2016, "Conditional image generation with PixelCNN
    decoders", here with the maps learned per class). A bias the same everywhere must work through
    the image's context; on colour digits, whose ink colour is random, that context says little.

    Neither part reads the image, so neither can leak future pixels. Both add zero at the start (the
    class vectors and the 1x1 mixing weights are zero; the small maps start random, so that the
    mixing weights get a gradient), so a conditional model begins as its unconditional twin. While
    sampling with a cache the resized maps are computed once, for the first region's labels, and
    each region reads its own part.
    """

    def __init__(self, n_classes: int | None, channels: int, maps: int = 0, map_size: int = 7) -> None:
        super().__init__()
        check_int("maps", maps, 0)
        check_positive_int("map_size", map_size)
        if maps and n_classes is None:
            raise ValueError(f"maps={maps} needs class labels: set n_classes")
        self.maps, self.map_size = maps, map_size
        self.embedding = None if n_classes is None else nn.Embedding(n_classes, channels)
        if self.embedding is not None:
            nn.init.zeros_(self.embedding.weight)
        self.where = nn.Embedding(n_classes, maps * map_size * map_size) if maps else None
        self.mix = nn.Conv2d(maps, channels, 1, bias=False) if maps else None
        if self.mix is not None:
            nn.init.zeros_(self.mix.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.embedding is None:
            return x
        y = y.long()
        x = x + self.embedding(y)[:, :, None, None]
        if self.where is None:
            return x
        if self.cache is None:
            return x + self.class_maps(y, tuple(x.shape[-2:]))
        r0, r1, c0, c1 = self.cache.check(x, self.cache_scale, self)
        if self._buffer is None:
            self._buffer = self.class_maps(y, self.cache.size_at(self.cache_scale))
        return x + self._buffer[:, :, r0:r1, c0:c1]

    def class_maps(self, y: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The position-dependent part of the bias for labels ``y`` (B,): (B, channels, *size)."""
        if self.where is None:
            raise ValueError("this class bias has no maps (maps=0)")
        small = self.where(y.long()).view(-1, self.maps, self.map_size, self.map_size)
        return self.mix(F.interpolate(small, size=size, mode="bilinear", align_corners=False))


class PointwiseConv2d(CachedConv, nn.Conv2d):
    """A 1x1 convolution (B, in, H, W) -> (B, out, H, W), as ``nn.Conv2d(in, out, 1)`` (same weights),
    that while sampling with a cache runs as a matrix product on the region, which is faster."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self._forward_cached(x)
        return super().forward(x)

    def _cache_geometry(self):
        return (0, 0, 0, 0), self.weight, self.bias, 1, 1


class ResidualBlock(nn.Module):
    """PixelCNN residual block: 1x1 (2h -> h), k x k mask B (h -> h), 1x1 (h -> 2h), plus input.

    Each convolution is preceded by normalisation and ReLU. ``channels`` is 2h. All three
    convolutions are masked (mask B) so that colour groups are respected. With ``n_classes``, a
    class bias (with ``class_maps`` per-class maps, see :class:`ClassBias`) is added after the k x k
    convolution. ``residual=False`` drops the "plus input"
    (the identity path), leaving a plain stack of three convolutions, for the ablation of the
    residual connection. (B, channels, H, W) -> (B, channels, H, W).
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        norm: NormType = "none",
        color_groups: int = 1,
        color_convention: ColorConvention = "contiguous",
        n_classes: int | None = None,
        residual: bool = True,
        class_maps: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(residual, bool):
            raise TypeError(f"residual must be True or False, got {residual!r}")
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
        self.class_bias = ClassBias(n_classes, half, class_maps)
        self.residual = residual

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = x
        for index, layer in enumerate(self.block):
            out = layer(out)
            if index == 5:  # after the k x k convolution
                out = self.class_bias(out, y)
        return x + out if self.residual else out
