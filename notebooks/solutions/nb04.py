"""Worked solutions to notebook 04's exercises (the Gated PixelCNN), for teachers."""

from __future__ import annotations

import torch


def exercise_1(k: int, stack: str, mask_type: str) -> torch.Tensor:
    """The k x k footprint of the vertical or horizontal stack, mask A or B.

    The vertical stack reads whole rows strictly above the centre (all k columns); its mask B also
    takes the centre row, because it reads the vertical stack's own features, which hold only rows
    above. The horizontal stack reads the centre row only: the pixels left of the centre, plus the
    centre itself for mask B. Together (vertical A + horizontal A or B) they are the PixelCNN mask.

    Typical slips: giving the vertical stack the centre row under mask A (no shift: it would read
    pixels right of the target), or letting the horizontal stack read rows above (they belong to
    the vertical stack, and the two would overlap).
    """
    c = k // 2
    mask = torch.zeros(k, k)
    if stack == "vertical":
        mask[: c + (mask_type == "B")] = 1  # rows above the centre (and the centre row for mask B)
    else:
        mask[c, : c + (mask_type == "B")] = 1  # left of the centre (and the centre for mask B)
    return mask


def exercise_2() -> int:
    """Layers after the first before pixel (i, 0) sees (i - 1, 27) in a 28-wide digit.

    The first layer's 7x7 vertical window reaches 7 // 2 = 3 columns to the right in the rows above;
    each later 3x3 layer (no dilation) widens the vertical stack by 3 // 2 = 1 column on each side.
    From column 0 to column 27 is 27 columns: 3 + n >= 27, so n = 24 layers.

    Typical slips: 27 (forgetting the first layer's 3 columns) or 9 (taking 3 columns per layer).
    """
    return 27 - 7 // 2


def exercise_3() -> int:
    """The fewest layers after the first for which some pixel of row i sees the whole row i - 1.

    After the first layer and n more, the field of (i, j) in the row above spans columns j - R to
    j + R with R = 3 + n (7 // 2 from the first layer, 3 // 2 = 1 from each later one). Going left
    through the horizontal stack gains nothing more: every layer moves at most one column either
    way. So the row's 28 columns fit in one field when 2R + 1 >= 28, that is R >= 14 and n = 11;
    then the pixels (i, 13) and (i, 14) see all of row i - 1, and (i, 13) is the first.

    Typical slip: 24, the answer for pixel (i, 0), which must reach the whole row on one side.
    """
    width, first_reach, per_layer = 28, 7 // 2, 3 // 2
    needed_reach = -(-(width - 1) // 2)  # ceil(27 / 2) = 14
    return -(-(needed_reach - first_reach) // per_layer)
