"""Masks that make convolutions autoregressive.

A PixelCNN visits pixels in raster order (rows top to bottom, columns left to right).
A convolution that predicts pixel (i, j) may only read pixels that come before it.
We enforce this by multiplying the kernel with a 0/1 mask before every convolution.

* Mask **A** hides the centre: used on the raw image, so a pixel never sees itself.
* Mask **B** keeps the centre: used on feature maps, which at the centre already
  hold only information about the past.

All functions here are pure: they build and return new tensors.
"""

from __future__ import annotations

from typing import Literal

import torch

MaskType = Literal["A", "B"]


def check_mask_type(mask_type: str) -> MaskType:
    """Return ``mask_type`` if it is "A" or "B", else raise a ValueError naming it."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    return mask_type  # type: ignore[return-value]


def check_kernel_size(kernel_size: int) -> int:
    """Return ``kernel_size`` if it is a positive odd int, else raise.

    Masks need a centre tap, so the kernel size must be odd.
    """
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int):
        raise TypeError(f"kernel_size must be an int, got {type(kernel_size).__name__} {kernel_size!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd number (1, 3, 5, ...), got {kernel_size}")
    return kernel_size


def spatial_mask(kernel_size: int, mask_type: MaskType) -> torch.Tensor:
    """The k x k spatial mask of a masked convolution.

    Rows above the centre are all ones; in the centre row, taps left of the centre are
    ones; the centre itself is one for mask "B" and zero for mask "A"; everything after
    the centre is zero.

    Returns: (kernel_size, kernel_size) float32 tensor of 0s and 1s.

    >>> spatial_mask(3, "A")
    tensor([[1., 1., 1.],
            [1., 0., 0.],
            [0., 0., 0.]])
    """
    k = check_kernel_size(kernel_size)
    check_mask_type(mask_type)
    centre = k // 2
    mask = torch.zeros(k, k)
    mask[:centre, :] = 1.0  # every row strictly above the centre
    mask[centre, :centre] = 1.0  # the centre row, left of the centre
    if mask_type == "B":
        mask[centre, centre] = 1.0  # mask B also sees the centre
    return mask


def mask_to_string(mask: torch.Tensor, on: str = "■", off: str = "□") -> str:
    """Render a 2-D 0/1 mask as text, one row per line (■ = weight kept, □ = zeroed)."""
    if mask.dim() != 2:
        raise ValueError(f"mask must be 2-D (rows, cols), got shape {tuple(mask.shape)}")
    return "\n".join(" ".join(on if v else off for v in row.tolist()) for row in mask)
