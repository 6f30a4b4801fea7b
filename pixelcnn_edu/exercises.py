"""Checks for the notebooks' exercises, with feedback a student can act on.

Every check takes the student's answer (a number, a function or a tensor), prints one
short message and returns ``True`` or ``False``:

* ``✅ Correct: ...`` when the answer is right;
* ``❌ Not yet: ...`` with what is wrong and a hint about the expected value or shape;
* ``Not answered yet: ...`` when the answer is still the placeholder ``None``.

A check never raises because of the student's answer (a wrong type or a function that
crashes is reported as "Not yet"), so a notebook with unanswered exercises still runs top
to bottom. It does raise if the check itself is called with bad settings (e.g. ``levels=1``).

The checks are grouped by notebook, in course order.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import torch

from .checks import check_levels

CORRECT = "✅ Correct:"
NOT_YET = "❌ Not yet:"
UNANSWERED = "Not answered yet:"


# --- shared helpers ------------------------------------------------------------------------


def _verdict(ok: bool, message: str) -> bool:
    """Print ``message`` after the right prefix and return ``ok``."""
    print(f"{CORRECT if ok else NOT_YET} {message}")
    return ok


def _unanswered(hint: str) -> bool:
    print(f"{UNANSWERED} {hint}")
    return False


def _as_float(value: Any) -> float | None:
    """``value`` as a Python float if it is a real number or a one-element tensor, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        return float(value.item())
    return None


def _describe(value: Any) -> str:
    """A short description of an answer for error messages (type and a clipped repr)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _close(a: float, b: float, rel_tol: float = 1e-4) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) with positive entries, got {tuple(image_shape)!r}")
    return shape  # type: ignore[return-value]


# --- notebook 01: autoregressive factorisation ------------------------------------------


def check_number_of_conditionals(answer: Any, image_shape: Sequence[int] = (3, 32, 32)) -> bool:
    """Exercise 01.1: how many conditionals p(x_i | x_<i) does a C x H x W image factorise into?

    The answer is one per sub-pixel, C * H * W (the first one, p(x_1), conditions on nothing).
    ``answer`` is an int (or a one-element tensor).
    """
    c, h, w = _image_shape(image_shape)
    expected = c * h * w
    where = f"a {c} x {h} x {w} image (C x H x W)"
    if answer is None:
        return _unanswered(f"count the factors p(x_i | x_<i) of {where}; the answer is a whole number.")
    value = _as_float(answer)
    if value is None:
        return _verdict(False, f"expected a whole number, got {_describe(answer)}.")
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
    if answer is None:
        return _unanswered(f"what is -log2 of the probability a uniform model gives one sub-pixel with {levels} levels?")
    value = _as_float(answer)
    if value is None:
        return _verdict(False, f"expected a number, got {_describe(answer)}.")
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
        hint = f"the answer lies between 0 and {levels}: think -log2(1/{levels})."
    return _verdict(False, f"{value:.4f} bits/dim is not the uniform model's score: {hint}")


# (per-image NLL in nats, image shape (C, H, W)) pairs on which a student's conversion is tested
_NLL_CASES: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (784 * math.log(2), (1, 28, 28)),  # exactly 1 bit per dimension
    (80.0, (1, 28, 28)),  # a good binarised-MNIST model
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
        message = f"fn({nll:.2f}, {shape}) returned {value:.4f}, expected {expected:.4f} bits/dim"
        if _close(value, nll / (c * h * w)):
            return _verdict(False, f"{message}: that is nats per dimension; divide by ln 2 to convert nats to bits.")
        if _close(value, nll / math.log(2)):
            return _verdict(False, f"{message}: that is bits per image; divide by C * H * W = {c * h * w} dimensions.")
        if _close(value, nll / (h * w * math.log(2))) and c > 1:
            return _verdict(False, f"{message}: count every channel, C * H * W = {c * h * w} dimensions, not H * W.")
        return _verdict(False, f"{message}: convert nats to bits (divide by ln 2) and one image to one dimension "
                               f"(divide by C * H * W = {c * h * w}).")
    return _verdict(True, f"your conversion agrees on all {len(_NLL_CASES)} test images "
                          "(nats -> bits: divide by ln 2; per image -> per dimension: divide by C * H * W).")


# --- notebook 02: masked convolutions --------------------------------------------------


def check_spatial_mask(fn: Callable[[int, str], Any] | None) -> bool:
    """Exercise 02.1: a function ``fn(k, mask_type)`` that builds the k x k mask A or B."""
    from .masks import mask_to_string, spatial_mask

    if fn is None:
        return _unanswered("write my_mask(k, mask_type) returning a k x k tensor of 0s and 1s (rows above the centre, then the left of the centre row; the centre only for mask B).")
    if not callable(fn):
        return _verdict(False, f"expected a function my_mask(k, mask_type), got {_describe(fn)}.")
    for k in (1, 3, 5, 7):
        for mask_type in ("A", "B"):
            expected = spatial_mask(k, mask_type)
            try:
                got = torch.as_tensor(fn(k, mask_type)).float()
            except Exception as err:  # the student's code failed: report it, do not crash the notebook
                return _verdict(False, f"my_mask({k}, {mask_type!r}) raised {type(err).__name__}: {err}")
            if got.shape != expected.shape:
                return _verdict(False, f"my_mask({k}, {mask_type!r}) has shape {tuple(got.shape)}, expected {tuple(expected.shape)}.")
            if not torch.equal(got, expected):
                return _verdict(
                    False,
                    f"my_mask({k}, {mask_type!r}) differs from the expected mask.\nyours:\n{mask_to_string(got)}\nexpected:\n{mask_to_string(expected)}",
                )
    return _verdict(True, "your masks match masks.spatial_mask for k = 1, 3, 5, 7 and both types.")


def check_blind_spot_size(
    answer: Any, n_layers: int = 4, image_size: Sequence[int] = (12, 12), position: Sequence[int] = (8, 6)
) -> bool:
    """Exercise 02.2: how many earlier pixels are in the blind spot of a stack of 3x3 masked convolutions?"""
    from .receptive_field import blind_spot, layerwise_receptive_fields, masked_conv_stack

    fields = layerwise_receptive_fields(masked_conv_stack(n_layers, 3), tuple(image_size), tuple(position))
    expected = int(blind_spot(fields[-1], tuple(position)).sum())
    if answer is None:
        return _unanswered(f"count the blind-spot pixels of output {tuple(position)} after {n_layers} layers in the receptive-field figure (or with the explorer).")
    value = _as_float(answer)
    if value is None:
        return _verdict(False, f"expected a whole number of pixels, got {_describe(answer)}.")
    if value == expected:
        return _verdict(True, f"{expected} pixels above and to the right of {tuple(position)} are never reached.")
    hint = "too many: count only pixels inside the reached rows, to the right of the field's sloping edge" if value > expected else "too few: the wedge widens by one pixel per row going up"
    return _verdict(False, f"{value:g} is {hint}.")


def check_causal_norms(answer: Any) -> bool:
    """Exercise 02.3: which ``norm`` options keep a PixelCNN autoregressive in training mode?"""
    expected = {"none", "layer"}
    if answer is None:
        return _unanswered('answer with a set of names, e.g. {"none"}; the table in section 5 has what you need.')
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(a, str) for a in answer):
        return _verdict(False, f'expected a set of names such as {{"none", "batch"}}, got {_describe(answer)}.')
    got = set(answer)
    if got == expected:
        return _verdict(True, 'per-pixel LayerNorm and no normalisation are causal; BatchNorm pools over positions in training mode.')
    if "batch" in got:
        return _verdict(False, "BatchNorm in training mode uses batch statistics pooled over every position, future pixels included.")
    return _verdict(False, f"{sorted(expected - got)} is also causal: it normalises each pixel over its own channels only." if expected - got else f"unknown names {sorted(got - expected)}; the options are none, layer, batch.")
