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


def check_kernel_size(kernel_size: int, name: str = "kernel_size") -> int:
    """Return ``kernel_size`` if it is a positive odd int, else raise; ``name`` names it in the error.

    Masks need a centre tap, so the kernel size must be odd.
    """
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int):
        raise TypeError(f"{name} must be an int, got {type(kernel_size).__name__} {kernel_size!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"{name} must be a positive odd number (1, 3, 5, ...), got {kernel_size}")
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
    if not isinstance(convention, str):
        raise TypeError(f"color_convention must be 'contiguous' or 'interleaved', got {type(convention).__name__} {convention!r}")
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
    out_copies: int = 1,
) -> torch.Tensor:
    """(out_channels, in_channels) 0/1 connectivity at the kernel centre.

    Output map o may read input map i if colour(i) < colour(o) (mask "A"), or colour(i) <= colour(o)
    (mask "B"). With ``color_groups=1`` mask A is all zeros and mask B all ones (the grey case).

    ``out_copies=2`` is for a gated layer: its output is two stacked halves (the tanh half and the
    sigmoid half) of ``out_channels // 2`` maps each, coloured alike, so that map k of one half is
    gated by map k of the other, which has the same colour.
    """
    check_mask_type(mask_type)
    if out_copies < 1 or out_channels % out_copies:
        raise ValueError(f"out_channels={out_channels} cannot be split into {out_copies} equal copies")
    c_in = color_of(in_channels, color_groups, convention)
    c_out = color_of(out_channels // out_copies, color_groups, convention).repeat(out_copies)
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


# --- the two stacks of the Gated PixelCNN ---------------------------------------------------
#
# A stack of masked k x k convolutions never reaches a wedge of past pixels above and to the right
# (the blind spot). The Gated PixelCNN splits the window into two stacks that together cover the
# past exactly: the vertical stack reads whole rows above the current one, the horizontal stack
# reads the current row up to the current pixel. Mask "A" is for the first layer (which reads the
# image), mask "B" for later layers (which read features that already hold only the past).

StackType = Literal["vertical", "horizontal"]


def check_stack(stack: str) -> StackType:
    """Return ``stack`` if it is "vertical" or "horizontal", else raise."""
    if stack not in ("vertical", "horizontal"):
        raise ValueError(f"stack must be 'vertical' or 'horizontal', got {stack!r}")
    return stack  # type: ignore[return-value]


def stack_mask(kernel_size: int, stack: StackType, mask_type: MaskType) -> torch.Tensor:
    """The (k, k) spatial footprint of one stack's convolution, centred on the output pixel.

    * vertical A: every row strictly above the centre (all k columns).
    * vertical B: those rows and the centre row. The vertical stack's features at row i hold only
      rows above i, so reading its own row is safe, and it never feeds the current row's pixels in.
    * horizontal A / B: the centre row left of the centre; B also the centre (as ``spatial_mask``).

    Returns: (kernel_size, kernel_size) float32 tensor of 0s and 1s.

    >>> stack_mask(3, "vertical", "A")
    tensor([[1., 1., 1.],
            [0., 0., 0.],
            [0., 0., 0.]])
    """
    k = check_kernel_size(kernel_size)
    check_stack(stack)
    check_mask_type(mask_type)
    centre = k // 2
    mask = torch.zeros(k, k)
    if stack == "vertical":
        mask[: centre + (mask_type == "B"), :] = 1.0
    else:
        mask[centre, : centre + (mask_type == "B")] = 1.0
    return mask


def stack_conv_mask(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stack: StackType,
    mask_type: MaskType,
    color_groups: int = 1,
    convention: ColorConvention = "contiguous",
    out_copies: int = 1,
) -> torch.Tensor:
    """The full (out_channels, in_channels, k, k) mask of one stack's convolution.

    The vertical stack never touches the current row's pixels, so it needs no colour rule. The
    horizontal stack reads the current pixel at the centre tap, where the R -> G -> B rule of
    :func:`channel_mask` applies (for grey, mask A closes it and mask B opens it).
    """
    footprint = stack_mask(kernel_size, stack, mask_type)
    mask = footprint.expand(out_channels, in_channels, *footprint.shape).clone()
    if stack == "horizontal":
        centre = kernel_size // 2
        mask[:, :, centre, centre] = channel_mask(in_channels, out_channels, mask_type, color_groups, convention, out_copies)
    return mask
