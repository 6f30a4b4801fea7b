"""Incremental computation for fast sampling: per-layer caches of past activations.

Naive sampling runs the whole network on the whole image for every sub-pixel, although one new
sub-pixel changes only the activations at and after its position. Ramachandran et al. (2017, "Fast
generation for convolutional autoregressive models") keep, for every layer, the activations it has
already computed and compute only the new ones. Here every layer that looks at neighbouring positions
(a masked or shifted convolution, a shift, MADE's first and last masked linear layer, a
transformer's token shift and self-attention, whose buffer is the key/value cache) is a
:class:`CachedLayer`: while a :class:`CacheState` is attached, the layer keeps a buffer of its own
input at its own resolution, writes the input of the current *region* (a rectangle of the image: a
pixel, a row, a band of rows) into it, and computes its output for that region only, reading earlier
positions from the buffer. Pointwise layers (ReLU, gates, 1x1 convolutions, per-pixel norms, class
biases the same at every pixel) need no cache: they work on a region as on a whole image. A class bias
with class maps depends on the position, so it is a cached layer too: it computes its maps for the whole
image once and gives each region its part. So a model's own ``network`` runs unchanged on a region, and
the sampler (``sampling.sample_steps``) only chooses the regions.

Because the network is causal, an activation at position p reads only inputs at or before p; once
those are final, so is the activation, and the value computed from the buffers equals the value a full
pass would give (up to float rounding).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


class CacheState:
    """The region that the next cached forward pass computes, shared by all cached layers of a model.

    ``rows`` and ``cols`` are half-open ranges at full resolution. A layer at a coarser resolution
    (PixelCNN++'s half and quarter size, ``scale`` 2 and 4) computes every one of its positions that
    covers part of the region.
    """

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.rows, self.cols = (0, height), (0, width)

    def set_region(self, rows: tuple[int, int], cols: tuple[int, int]) -> None:
        (r0, r1), (c0, c1) = rows, cols
        if not (0 <= r0 < r1 <= self.height and 0 <= c0 < c1 <= self.width):
            raise ValueError(f"region rows {rows}, cols {cols} is not inside a {self.height}x{self.width} image")
        self.rows, self.cols = (r0, r1), (c0, c1)

    def region_at(self, scale: int = 1) -> tuple[int, int, int, int]:
        """(r0, r1, c0, c1) of the current region at a resolution ``scale`` times coarser."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        return r0 // scale, (r1 - 1) // scale + 1, c0 // scale, (c1 - 1) // scale + 1

    def raster_range(self, per_pixel: int = 1) -> tuple[int, int]:
        """[start, end) of the current region in raster order, counting ``per_pixel`` items per pixel
        (MADE's features, a transformer's tokens). The region must be part of one row or whole rows,
        so that its items are contiguous."""
        (r0, r1), (c0, c1) = self.rows, self.cols
        if r1 - r0 > 1 and (c0, c1) != (0, self.width):
            raise ValueError("a raster-ordered region must be part of one row or whole rows")
        return (r0 * self.width + c0) * per_pixel, ((r1 - 1) * self.width + c1) * per_pixel

    def size_at(self, scale: int = 1) -> tuple[int, int]:
        """(H, W) of the whole image at a resolution ``scale`` times coarser."""
        return -(-self.height // scale), -(-self.width // scale)

    def check(self, x: torch.Tensor, scale: int, layer: object) -> tuple[int, int, int, int]:
        """The region at ``scale``, after checking that ``x`` (B, C, rows, cols) has its size."""
        r0, r1, c0, c1 = self.region_at(scale)
        if tuple(x.shape[-2:]) != (r1 - r0, c1 - c0):
            raise ValueError(
                f"{type(layer).__name__} got {tuple(x.shape[-2:])} positions for the region rows {self.rows}, "
                f"cols {self.cols} at scale {scale}, which has {(r1 - r0, c1 - c0)}"
            )
        return r0, r1, c0, c1


class CachedLayer:
    """Mixin for layers that can compute one region at a time from a buffer of their past input.

    Subclasses implement ``_forward_cached(x)`` (x is the region's input, the result the region's
    output) and call it from ``forward`` while ``self.cache`` is set. A block may instead keep
    outputs that a region cannot change (the Gated PixelCNN's vertical stack, ``layers.GatedBlock``).
    """

    cache: CacheState | None = None
    cache_scale: int = 1  # how many image pixels one position of the layer's input spans (a model sets it)
    _buffer: torch.Tensor | None = None

    def start_cache(self, state: CacheState) -> None:
        """Attach ``state``: from now on ``forward`` computes ``state``'s region only."""
        self.cache, self._buffer = state, None

    def stop_cache(self) -> None:
        """Detach and free the buffer: ``forward`` computes whole images again."""
        self.cache, self._buffer = None, None

    def _forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class CachedConv(CachedLayer):
    """Cached forward for a 2-D convolution given by ``_cache_geometry()``.

    The buffer holds the layer's input, zero-padded exactly as the full forward pads it, so output
    (o, p) reads buffer rows o*stride + a*dilation and columns p*stride + b*dilation for every tap
    (a, b), as in the full convolution. A region has few output positions, so the product is taken as
    one matrix multiplication over its patches (a convolution call costs far more for so little work).
    """

    def _cache_geometry(self) -> tuple[tuple[int, int, int, int], torch.Tensor, torch.Tensor | None, int, int]:
        """(padding left, right, top, bottom; weight; bias; stride; dilation) of the full forward."""
        raise NotImplementedError

    def start_cache(self, state: CacheState) -> None:
        super().start_cache(state)
        self._padding, weight, self._bias, self._stride, self._dilation = self._cache_geometry()
        self._kernel = tuple(weight.shape[2:])
        self._pointwise = self._kernel == (1, 1) and self._stride == 1 and not any(self._padding)
        self._weight_4d = weight.detach()
        # (kh*kw*C_in, C_out), masked once; taps in the order of the channels-last patches below
        self._weight = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1).T.contiguous()

    def stop_cache(self) -> None:
        super().stop_cache()
        self._weight = self._weight_4d = self._bias = self._patches = None

    def _forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        if self._pointwise:  # nothing to remember
            return self._matmul(x.permute(0, 2, 3, 1))
        (left, right, top, bottom), (kh, kw), s, d = self._padding, self._kernel, self._stride, self._dilation
        r0, r1, c0, c1 = self.cache.check(x, self.cache_scale, self)
        if self._buffer is None:  # channels last (B, H, W, C), so that a patch gathers whole channel vectors
            h, w = self.cache.size_at(self.cache_scale)
            self._buffer = x.new_zeros(x.shape[0], top + h + max(bottom, 0), left + w + max(right, 0), x.shape[1])
            # every output position's patch as a view of the buffer: (B, H_out, W_out, kh, kw, C)
            patches = self._buffer.unfold(1, (kh - 1) * d + 1, s).unfold(2, (kw - 1) * d + 1, s)
            self._patches = patches[..., ::d, ::d].permute(0, 1, 2, 4, 5, 3)
        self._buffer[:, top + r0 : top + r1, left + c0 : left + c1] = x.permute(0, 2, 3, 1)
        o_r0, o_r1, o_c0, o_c1 = self.cache.region_at(self.cache_scale * s)
        if (o_r1 - o_r0) * (o_c1 - o_c0) > 8:  # a long row: the convolution routine is faster
            window = self._buffer[:, o_r0 * s : (o_r1 - 1) * s + (kh - 1) * d + 1, o_c0 * s : (o_c1 - 1) * s + (kw - 1) * d + 1]
            return torch.nn.functional.conv2d(window.permute(0, 3, 1, 2), self._weight_4d, self._bias, stride=s, dilation=d)
        return self._matmul(self._patches[:, o_r0:o_r1, o_c0:o_c1].flatten(3))  # (B, R, Q, kh*kw*C)

    def _matmul(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, R, Q, kh*kw*C_in) patches -> (B, C_out, R, Q) outputs (a view of channels-last memory)."""
        b, r, q, k = patches.shape
        flat = patches.reshape(b * r * q, k)  # free when the patches are channels-last already
        out = flat @ self._weight if self._bias is None else torch.addmm(self._bias, flat, self._weight)
        return out.view(b, r, q, -1).permute(0, 3, 1, 2)


@contextmanager
def caching(model: nn.Module, image_size: tuple[int, int]) -> Iterator[CacheState]:
    """Attach one :class:`CacheState` to every cached layer of ``model`` for an image of ``image_size``.

    Inside the block, ``model.network`` computes only ``state``'s region; on exit every buffer is freed
    and the model computes whole images again (also after an exception or an interrupted generator).
    """
    if getattr(model, "cache_state", None) is not None:
        raise RuntimeError(
            "this model is already sampling with a cache (another sampling loop is still open); "
            "finish or close() it first"
        )
    state = CacheState(*image_size)
    layers = [m for m in model.modules() if isinstance(m, CachedLayer)]
    for layer in layers:
        layer.start_cache(state)
    model.cache_state = state
    try:
        yield state
    finally:
        model.cache_state = None
        for layer in layers:
            layer.stop_cache()


def uncached_spatial_layers(model: nn.Module) -> list[str]:
    """Names of convolutions in ``model`` that read neighbouring positions but keep no cache.

    Such a layer (a user's own ``nn.Conv2d`` with a 3x3 kernel, say) would see only the region and
    give wrong values, so the sampler falls back to the naive loop when this list is not empty.
    """
    names = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and not isinstance(module, CachedLayer):
            if tuple(module.kernel_size) != (1, 1) or tuple(module.stride) != (1, 1) or any(tuple(module.padding)):
                names.append(name)
    return names
