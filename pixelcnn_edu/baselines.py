"""Context-free baselines: what a model scores without reading a single other pixel.

A learned model is worth its bits only against the best model that ignores the context. Two such
models come from counting the training images, with Laplace's +1 so that no level has probability 0:

* the **histogram**: one distribution over the levels per channel, the same at every position
  (for binarised digits, a coin with the ink rate);
* **per-pixel frequencies**: one distribution per channel and position (the best
  ``models.IndependentPixels`` can learn).

Both score test images in bits per sub-pixel, like ``train.evaluate``.
"""

from __future__ import annotations

import torch

from .checks import check_images
from .data import ImageDataset
from .likelihoods import to_level_index


def level_counts(images: torch.Tensor, levels: int, *, per_position: bool) -> torch.Tensor:
    """Counts of each level, plus 1, in ``images`` (N, C, H, W) in [0, 1] on the level grid:
    (C, levels), or (C, H, W, levels) with ``per_position``. Counted 1,024 images at a time, one
    ``bincount`` over (cell, level) keys per slice, a cell being a channel or a channel and position."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a tensor (N, C, H, W) with N >= 1, got {images!r:.80}")
    c, h, w = images.shape[1:]
    cells = torch.arange(c * h * w).view(1, c, h, w) if per_position else torch.arange(c).view(1, c, 1, 1)
    counts = torch.ones((c, h, w, levels) if per_position else (c, levels), dtype=torch.float64)
    for chunk in images.split(1024):
        check_images(chunk, in_channels=c, levels=levels, name="images")
        keys = cells * levels + to_level_index(chunk, levels).cpu()  # (n, C, H, W)
        counts += torch.bincount(keys.flatten(), minlength=counts.numel()).view(counts.shape)
    return counts


def _bits(train: ImageDataset, test: ImageDataset, per_position: bool) -> float:
    if train.levels != test.levels or train.images.shape[1:] != test.images.shape[1:]:
        raise ValueError(f"train and test must share levels and image shape, got {train} and {test}")
    counts = level_counts(train.images, train.levels, per_position=per_position)
    log2_p = (counts / counts.sum(-1, keepdim=True)).log2()  # (C, levels) or (C, H, W, levels)
    c, h, w = test.images.shape[1:]
    log2_p = log2_p.view(c, *((h, w) if per_position else (1, 1)), train.levels).expand(c, h, w, train.levels)
    index = to_level_index(test.images, test.levels).cpu()  # (N, C, H, W)
    scores = log2_p.expand(len(test), c, h, w, train.levels).gather(-1, index.unsqueeze(-1))
    return -scores.mean().item()


def histogram_bpd(train: ImageDataset, test: ImageDataset) -> float:
    """Bits per sub-pixel of ``test`` under the training images' level histogram, one per channel."""
    return _bits(train, test, per_position=False)


def per_pixel_bpd(train: ImageDataset, test: ImageDataset) -> float:
    """Bits per sub-pixel of ``test`` under each position's own level frequencies in ``train``."""
    return _bits(train, test, per_position=True)
