"""Checks for notebook 01, autoregressive factorisation: counting conditionals, bits per dimension."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from ..checks import check_levels
from ._common import _as_float, _close, _describe, _number, _unanswered, _verdict


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) with positive entries, got {tuple(image_shape)!r}")
    return shape  # type: ignore[return-value]


def check_number_of_conditionals(answer: Any, image_shape: Sequence[int] = (3, 32, 32)) -> bool:
    """Exercise 01.1: how many conditionals p(x_i | x_<i) does a C x H x W image factorise into?

    The answer is one per sub-pixel, C * H * W (the first one, p(x_1), conditions on nothing).
    ``answer`` is an int (or a one-element tensor).
    """
    c, h, w = _image_shape(image_shape)
    expected = c * h * w
    where = f"a {c} x {h} x {w} image (C x H x W)"
    value = _number(answer, f"count the factors p(x_i | x_<i) of {where}; the answer is a whole number.", "a whole number")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"{where} has {expected} sub-pixels, so the chain rule has {expected} factors, "
                              "one per sub-pixel (the first conditions on nothing).")
    if value == h * w and c > 1:
        hint = f"{h * w} counts pixels, but each of the {c} colour channels of a pixel is its own factor."
    elif value == expected - 1:
        hint = "the first sub-pixel also has a factor, p(x_1), which conditions on nothing."
    elif value == 2 ** expected or value == expected ** 2:
        hint = "count factors in the product, not possible images or pairs of sub-pixels."
    else:
        hint = "there is exactly one factor p(x_i | x_<i) per sub-pixel."
    return _verdict(False, f"{value:g} is not the number of factors for {where}: {hint}")


def check_uniform_bits_per_dim(answer: Any, levels: int = 8) -> bool:
    """Exercise 01.2: the bits/dim of a uniform model over ``levels`` values per sub-pixel.

    Every sub-pixel gets probability 1 / levels, so the NLL per dimension is log2(levels)
    bits, whatever the image. ``answer`` is a number (or a one-element tensor).
    """
    levels = check_levels(levels)
    expected = math.log2(levels)
    value = _number(answer, f"what is -log2 of the probability a uniform model gives one sub-pixel with {levels} levels?", "a number")
    if value is None:
        return False
    if _close(value, expected):
        return _verdict(True, f"each sub-pixel has probability 1/{levels}, costing log2({levels}) = "
                              f"{expected:.4f} bits, on every dimension of every image.")
    if _close(value, math.log(levels)):
        hint = f"{value:.4f} is ln({levels}), in nats; divide by ln 2 to get bits."
    elif _close(value, 1 / levels):
        hint = f"{value:.4f} is the probability of one value; the cost in bits is -log2 of it."
    elif _close(value, float(levels)):
        hint = "that is the number of levels; bits count how many yes/no questions pick one level."
    else:
        hint = (f"the answer lies between 0 and {levels}: how many yes/no questions single out one of {levels} "
                "equally likely values?")
    return _verdict(False, f"{value:.4f} bits/dim is not the uniform model's score: {hint}")


# (per-image NLL in nats, image shape (C, H, W)) pairs on which a student's conversion is tested
_NLL_CASES: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (784 * math.log(2), (1, 28, 28)),  # exactly 1 bit per dimension
    (80.0, (1, 28, 28)),  # about the published NLL on stochastically binarised MNIST
    (6000.0, (3, 32, 32)),  # a colour image: every channel counts
    (0.0, (1, 4, 4)),  # a perfectly predicted image
)


def check_nll_to_bits_per_dim(fn: Callable[[float, tuple[int, int, int]], Any] | None) -> bool:
    """Exercise 01.3: a function converting one image's NLL in nats to bits per dimension.

    ``fn(nll_nats, image_shape)`` takes the negative log-likelihood of one image in nats
    (a float >= 0) and its shape (C, H, W), and returns bits per dimension (a number or a
    one-element tensor): nll_nats / (C * H * W * ln 2). It is tested on several images.
    """
    hint = "write fn(nll_nats, image_shape) that returns bits per dimension; image_shape is (C, H, W)."
    if fn is None:
        return _unanswered(hint)
    if not callable(fn):
        return _verdict(False, f"expected a function fn(nll_nats, image_shape), got {_describe(fn)}.")
    for nll, shape in _NLL_CASES:
        c, h, w = shape
        expected = nll / (c * h * w * math.log(2))
        try:
            result = fn(nll, shape)
        except Exception as err:  # the student's code: report it instead of crashing the notebook
            return _verdict(False, f"fn({nll:.2f}, {shape}) raised {type(err).__name__}: {err}")
        if result is None:
            return _unanswered(f"your function returned None for fn({nll:.2f}, {shape}); {hint}")
        value = _as_float(result)
        if value is None:
            return _verdict(False, f"fn({nll:.2f}, {shape}) should return a number, got {_describe(result)}.")
        if _close(value, expected):
            continue
        message = f"fn({nll:.2f}, {shape}) returned {value:.4f}, which is not the bits/dim of that image"
        if _close(value, nll / (c * h * w)):
            return _verdict(False, f"{message}: that is nats per dimension; the result must be in bits.")
        if _close(value, nll / math.log(2)):
            return _verdict(False, f"{message}: that is bits per image; bits/dim shares them among the image's dimensions.")
        if _close(value, nll / (h * w * math.log(2))) and c > 1:
            return _verdict(False, f"{message}: the dimensions are every channel's sub-pixels, not H * W pixels.")
        return _verdict(False, f"{message}: check both steps of section 2, nats -> bits and per image -> per "
                               "dimension (image_shape is (C, H, W)).")
    return _verdict(True, f"your conversion agrees on all {len(_NLL_CASES)} test images "
                          "(nats -> bits: divide by ln 2; per image -> per dimension: divide by C * H * W).")
