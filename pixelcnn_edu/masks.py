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


# --- colour: channel groups -----------------------------------------------------------------
#
# With colour images the order inside a pixel is R, then G, then B. Every feature map is assigned
# to one colour group; at the centre tap of a kernel, a map of colour g may read maps of earlier
# colours (mask A) or of earlier colours and its own (mask B). Away from the centre all
# connections are allowed (those pixels are entirely in the past). ``color_of`` is the single
# place that assigns maps to colours: the masks and the models' output heads both call it.

ColorConvention = Literal["contiguous", "interleaved"]
COLOR_NAMES = ("R", "G", "B")


def check_color_convention(convention: str) -> ColorConvention:
    """Return ``convention`` if it is "contiguous" or "interleaved", else raise."""
    if convention not in ("contiguous", "interleaved"):
        raise ValueError(f"color_convention must be 'contiguous' or 'interleaved', got {convention!r}")
    return convention  # type: ignore[return-value]


def color_of(n_channels: int, color_groups: int = 3, convention: ColorConvention = "contiguous") -> torch.Tensor:
    """The colour group (0 = R, 1 = G, 2 = B, ...) of each of ``n_channels`` feature maps.

    * "contiguous": the maps are cut into ``color_groups`` consecutive blocks, as equal as
      possible, the first blocks one larger when n is not a multiple, e.g. 7 maps -> R R R G G B B.
    * "interleaved": map i is in group i % groups, e.g. 7 maps -> R G B R G B R.

    Both conventions give every group the same number of maps, so they are the same masks up to
    a permutation of the maps. Returns a (n_channels,) int64 tensor.
    """
    if isinstance(color_groups, bool) or not isinstance(color_groups, int) or color_groups < 1:
        raise ValueError(f"color_groups must be an int >= 1, got {color_groups!r}")
    if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < color_groups:
        raise ValueError(
            f"{n_channels} channel(s) cannot be split into {color_groups} colour groups: "
            f"every group needs at least one channel (use >= {color_groups} channels, or color_groups=1)"
        )
    check_color_convention(convention)
    if convention == "contiguous":
        sizes = torch.full((color_groups,), n_channels // color_groups)
        sizes[: n_channels % color_groups] += 1  # the first groups take the remainder, as interleaving does
        return torch.repeat_interleave(torch.arange(color_groups), sizes)
    return torch.arange(n_channels) % color_groups


def channel_mask(
    in_channels: int,
    out_channels: int,
    mask_type: MaskType,
    color_groups: int = 3,
    convention: ColorConvention = "contiguous",
) -> torch.Tensor:
    """(out_channels, in_channels) 0/1 connectivity at the kernel centre.

    Output map o may read input map i if colour(i) < colour(o) (mask "A"), or colour(i) <= colour(o)
    (mask "B"). With ``color_groups=1`` mask A is all zeros and mask B all ones (the grey case).
    """
    check_mask_type(mask_type)
    c_in = color_of(in_channels, color_groups, convention)
    c_out = color_of(out_channels, color_groups, convention)
    if mask_type == "A":
        return (c_in[None, :] < c_out[:, None]).float()
    return (c_in[None, :] <= c_out[:, None]).float()


def conv_mask(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    mask_type: MaskType,
    color_groups: int = 1,
    convention: ColorConvention = "contiguous",
) -> torch.Tensor:
    """The full (out_channels, in_channels, k, k) mask of a masked convolution.

    Every tap strictly before the centre is open for all channel pairs; the centre tap follows
    :func:`channel_mask`. With ``color_groups=1`` this is ``spatial_mask(k, mask_type)`` for every pair.
    """
    k = check_kernel_size(kernel_size)
    mask = spatial_mask(k, "A").expand(out_channels, in_channels, k, k).clone()
    mask[:, :, k // 2, k // 2] = channel_mask(in_channels, out_channels, mask_type, color_groups, convention)
    return mask


def color_permutation(n_channels: int, color_groups: int = 3, convention: ColorConvention = "contiguous") -> torch.Tensor:
    """Indices that reorder maps so that each colour's maps form one contiguous block (R, then G, ...).

    For "contiguous" this is the identity; for "interleaved" it gathers 0, 3, 6, ..., 1, 4, ....
    """
    return torch.argsort(color_of(n_channels, color_groups, convention), stable=True)
