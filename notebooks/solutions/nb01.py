"""Worked solutions to notebook 01's exercises (autoregressive factorisation), for teachers."""

from __future__ import annotations

import math


def exercise_1() -> int:
    """The conditionals of a 3 x 32 x 32 colour image.

    The chain rule has one factor p(x_i | x_<i) per sub-pixel, and a colour image has C * H * W
    sub-pixels: each of the 32 * 32 = 1,024 pixels holds an R, a G and a B value. So 3 * 32 * 32 =
    3,072 factors; the first, p(x_1), conditions on nothing but is still a factor. (Counting pixels,
    1,024, forgets that each channel is its own factor.)
    """
    channels, height, width = 3, 32, 32
    return channels * height * width


def exercise_2() -> float:
    """The uniform model's bits/dim with 8 levels.

    Each of the 8 values has probability 1/8, so every sub-pixel costs -log2(1/8) = log2(8) = 3 bits,
    on every image: three yes/no questions single out one of 8 equally likely values. Bits/dim is the
    average over the sub-pixels, so it is 3 as well. (ln 8 = 2.079 is the same cost in nats.)
    """
    levels = 8
    return math.log2(levels)


def exercise_3(nll_nats: float, image_shape: tuple[int, int, int]) -> float:
    """One image's NLL in nats -> bits per dimension.

    Two conversions: nats -> bits divides by ln 2 (log2 p = ln p / ln 2), and per image -> per
    dimension divides by the number of sub-pixels D = C * H * W. So bits/dim = NLL / (C H W ln 2);
    80 nats on a 1 x 28 x 28 digit is 80 / (784 ln 2) = 0.147 bits/dim.
    """
    channels, height, width = image_shape
    return nll_nats / (channels * height * width * math.log(2))
