"""Likelihood as a score: out-of-distribution inputs, a compressor's bits/dim and AUROC.

A generative model's bits/dim ranks images by how likely it finds them. Nalisnick et al. (2019, "Do
deep generative models know what they don't know?") found that such models often give *higher*
likelihood to images from another, simpler data set than to their own test images. Serrà et al.
(2020, "Input complexity and out-of-distribution detection with likelihood-based generative
models") trace this to input complexity: simple images are cheap to encode under any model. Their
correction subtracts what a generic compressor needs, here PNG or zlib, in the same units:

    S(x) = bits/dim under the model - bits/dim of the compressed image.

This module makes the inputs offline from the embedded digits, computes the compressor's bits/dim
and the AUROC of a score (how well it separates test digits from each kind of input).
"""

from __future__ import annotations

import io
import zlib
from typing import Literal

import numpy as np
import torch
from PIL import Image

from .checks import check_images, check_levels
from .data import quantise


def ood_inputs(
    digits: torch.Tensor, levels: int, *, colored: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Inputs that are not MNIST test digits, each (N, 1, H, W) on the grid of ``levels`` levels.

    digits: (N, 1, H, W) test digits on that grid (the source of the transformed kinds); every kind
        has their dtype and device, so a float64 model scores them as it scores the digits.
    colored: (N, 3, H, W) coloured digits in [0, 1], turned grey (the channel mean) if given.
    The kinds: uniform noise, inverted digits (1 - x), digits shifted 6 pixels right and down (zeros
    enter), digits rotated by 90 degrees, blank (all 0) images, constant images (one random level
    each) and the grey coloured digits.
    """
    levels = check_levels(levels)
    check_images(digits, in_channels=1, levels=levels, name="digits")
    n = digits.shape[0]
    top = levels - 1
    shifted = torch.zeros_like(digits)
    shifted[:, :, 6:, 6:] = digits[:, :, :-6, :-6]
    constant = torch.randint(1, levels, (n, 1, 1, 1), generator=generator).to(digits) / top  # dtype and device of the digits
    out = {
        "uniform noise": torch.randint(levels, digits.shape, generator=generator).to(digits) / top,
        "inverted digits": quantise(1.0 - digits, levels),  # snapped back onto the grid
        "shifted digits": shifted,
        "rotated digits": torch.rot90(digits, 1, dims=(2, 3)),
        "blank images": torch.zeros_like(digits),
        "constant images": constant.expand_as(digits).clone(),
    }
    if colored is not None:
        if colored.dim() != 4 or colored.shape[1] != 3:
            raise ValueError(f"colored must have shape (N, 3, H, W), got {tuple(colored.shape)}")
        out["coloured digits, grey"] = quantise(colored.mean(1, keepdim=True), levels).to(digits)
    return out


def compressed_bits_per_dim(images: torch.Tensor, levels: int, method: Literal["png", "zlib"] = "png") -> torch.Tensor:
    """Bits per sub-pixel that a lossless compressor needs for each image, (N,).

    images: (N, C, H, W) on the grid of ``levels`` levels (at most 256: one byte per sub-pixel).
    "png": the image as an 8-bit PNG (PIL, best compression); "zlib": the raw bytes (levels
    0..levels-1, raster order) through zlib at level 9. Both include their headers, a few hundred
    bits that are the same for every image of one size.
    """
    levels = check_levels(levels)
    if levels > 256:
        raise ValueError(f"the compressors take one byte per sub-pixel: levels must be <= 256, got {levels}")
    if method not in ("png", "zlib"):
        raise ValueError(f"method must be 'png' or 'zlib', got {method!r}")
    check_images(images, in_channels=images.shape[1] if images.dim() == 4 else 1, levels=levels, name="images")
    n, c, h, w = images.shape
    if method == "png" and c not in (1, 3):
        raise ValueError(f"PNG stores 1 (grey) or 3 (RGB) channels, got {c}")
    pixels = torch.round(images.detach().cpu() * (levels - 1)).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    sizes = []
    for image in pixels:
        if method == "zlib":
            sizes.append(len(zlib.compress(image.tobytes(), 9)))
        else:
            buffer = io.BytesIO()
            Image.fromarray(image[:, :, 0] if c == 1 else image).save(buffer, format="PNG", optimize=True)
            sizes.append(buffer.tell())
    return torch.tensor(sizes, dtype=torch.float64) * 8 / (c * h * w)


def auroc(in_scores: torch.Tensor, out_scores: torch.Tensor) -> float:
    """Area under the ROC curve for telling ``out_scores`` from ``in_scores``, where a higher score
    means "more likely out of distribution": the probability that a random out-of-distribution input
    scores above a random in-distribution one (ties count one half; Mann-Whitney U / (n_in n_out)).

    1.0 separates perfectly, 0.5 is chance, and below 0.5 the score points the wrong way.
    """
    a = torch.as_tensor(in_scores, dtype=torch.float64).flatten()
    b = torch.as_tensor(out_scores, dtype=torch.float64).flatten()
    if a.numel() == 0 or b.numel() == 0:
        raise ValueError("auroc needs at least one score on each side")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("auroc needs finite scores")
    values = torch.cat([a, b]).numpy()
    ranks = _average_ranks(values)  # 1-based, ties share their mean rank
    rank_sum = ranks[a.numel() :].sum()
    u = rank_sum - b.numel() * (b.numel() + 1) / 2  # pairs (in, out) with out above in, ties half
    return float(u / (a.numel() * b.numel()))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``; tied values share the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # the rank of the last copy of each distinct value
    return (last - (counts - 1) / 2)[inverse]
