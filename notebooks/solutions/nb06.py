"""Worked solutions to notebook 06's exercises (fast sampling, completion, likelihood as a score), for teachers."""

from __future__ import annotations

import math


def exercise_1() -> int:
    """The positions the cached loop's first layer computes for one grey 32 x 32 image.

    Section 1 prints the kinds of step for 28 x 28: one step of 29, 27 steps of 57 and 756 steps of 2.
    29 = 28 + 1 is the pass over row 0 plus its first pixel; 57 = 2 * 28 + 1 is the pass over the row
    above and the new row at the start of each later row (the vertical stack reads the row above to the
    right of the pixel), plus the row's first pixel; every other pixel computes itself and the pixel
    before it, 2 positions. For width 32: 33 + 31 * 65 + 32 * 31 * 2 = 33 + 2,015 + 1,984 = 4,032, against
    32 * 32 * 1,024 = 1,048,576 for the naive loop, 260x fewer. Check:
    ``int(sampling.positions_per_step(gated, (32, 32), cache=True).sum())``.
    """
    height, width = 32, 32
    first_row_start = width + 1
    later_row_starts = (height - 1) * (2 * width + 1)
    other_pixels = 2 * height * (width - 1)
    return first_row_start + later_row_starts + other_pixels


def exercise_2() -> float:
    """The temperature at which a binary pixel with p(on) = 0.2 is drawn on with probability 0.05.

    p_T(v) is p(v)^(1/T), renormalised, so the ratio p_T(on) / p_T(off) = (p(on) / p(off))^(1/T):
    temperature divides the log-odds by T. The log-odds go from ln(0.2 / 0.8) = ln(1/4) to
    ln(0.05 / 0.95) = ln(1/19), so T = ln 4 / ln 19 = 0.471. (0.05 / 0.2 = 0.25 treats temperature as
    a scale on the probability, which it is not; T > 1 would move p(on) towards 1/2.)
    """
    p_on, target = 0.2, 0.05
    return math.log(p_on / (1 - p_on)) / math.log(target / (1 - target))


def exercise_3() -> float:
    """The AUROC of 500 copies of one image that scores above 400 test digits, equal to 20, below 80.

    The AUROC is the share of (digit, input) pairs in which the input scores higher, a tie counting one
    half. Every copy is the same image, so every copy meets the same 500 digits: it wins 400 pairs, ties
    20 and loses 80, and the number of copies cancels. (400 + 20 / 2) / 500 = 0.82. This is why, at 2
    levels, the constant-image row is just the share of test digits that score below the white image.
    """
    below, tied, above = 400, 20, 80
    return (below + tied / 2) / (below + tied + above)
