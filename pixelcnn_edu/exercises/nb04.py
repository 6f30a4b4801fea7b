"""Checks for notebook 04, the Gated PixelCNN: the stacks' masks, the gate, how far the stacks reach."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ._common import _describe, _number, _student_tensor, _unanswered, _verdict


def check_stack_masks(fn: Callable[[int, str, str], Any] | None) -> bool:
    """Exercise 04.1: a function ``fn(k, stack, mask_type)`` that builds a stack's k x k footprint.

    The first footprint that differs from ``masks.stack_mask`` is shown back (the student's, not the
    expected one) with a hint about the stack's shape."""
    from ..masks import mask_to_string, stack_mask

    if fn is None:
        return _unanswered("write my_stack_mask(k, stack, mask_type) returning a k x k tensor of 0s and 1s for stack 'vertical' or 'horizontal'.")
    if not callable(fn):
        return _verdict(False, f"expected a function my_stack_mask(k, stack, mask_type), got {_describe(fn)}.")
    for k in (3, 5, 7):
        for stack in ("vertical", "horizontal"):
            for mask_type in ("A", "B"):
                hint = {
                    "vertical": "(the vertical stack takes whole rows: all rows above the centre, plus the centre row for mask B)",
                    "horizontal": "(the horizontal stack takes only the centre row: left of the centre, plus the centre for mask B)",
                }[stack]
                call = f"my_stack_mask({k}, {stack!r}, {mask_type!r})"
                expected = stack_mask(k, stack, mask_type)  # type: ignore[arg-type]
                got = _student_tensor(fn, (k, stack, mask_type), call)
                if isinstance(got, str):
                    return _verdict(False, got)
                if got.shape != expected.shape:
                    return _verdict(False, f"{call} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}.")
                if not torch.equal(got, expected):
                    return _verdict(False, f"{call} differs from the footprint {hint}.\nyours:\n{mask_to_string(got)}")
    return _verdict(True, "your footprints match masks.stack_mask for k = 3, 5, 7, both stacks and both mask types.")


def check_layers_to_reach(answer: Any, width: int = 28, input_kernel_size: int = 7, kernel_size: int = 3) -> bool:
    """Exercise 04.2: how many gated layers after the first does pixel (i, 0) need to see (i - 1, W - 1)?

    The first layer's vertical stack reaches ``input_kernel_size // 2`` columns to the right, and
    each later layer ``kernel_size // 2`` more (without dilation).
    """
    if width < 2 or input_kernel_size < 3 or kernel_size < 3:
        raise ValueError("width must be >= 2 and both kernel sizes >= 3")
    expected = max(0, math.ceil((width - 1 - input_kernel_size // 2) / (kernel_size // 2)))
    value = _number(answer, f"count the columns between pixel (i, 0) and the last pixel of the row above in a {width}-wide image.", "a whole number of layers")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"{expected} layers: {input_kernel_size // 2} columns from the first layer plus {kernel_size // 2} per layer reach column {width - 1}.")
    if value == width - 1:
        hint = "that counts every column as one layer's work, but the first layer already reaches some columns to the right"
    elif value == width - 1 - input_kernel_size // 2 + 1:
        hint = "that counts the first layer too; the question asks for the layers after it"
    elif value < expected:
        hint = "too few: count how many columns the first layer's vertical stack reaches, then how many each later layer adds"
    else:
        hint = "too many: a later layer with a kernel of size k widens the vertical stack by more than zero columns; how many?"
    return _verdict(False, f"{value:g}: {hint}.")


def _reach(n_layers: int, input_kernel_size: int, kernel_size: int) -> int:
    """Columns the vertical stack reaches to each side in the row above after the first layer and
    ``n_layers`` more (no dilation): k0 // 2 from the first layer, k // 2 from each later one."""
    return input_kernel_size // 2 + n_layers * (kernel_size // 2)


def check_whole_row_layers(answer: Any, width: int = 28, input_kernel_size: int = 7, kernel_size: int = 3) -> bool:
    """Exercise 04.3: the fewest gated layers after the first for which *some* pixel (i, j) of a
    ``width``-wide image sees every pixel of the row above, (i - 1, 0) to (i - 1, W - 1).

    Without dilation, the field of (i, j) in row i - 1 spans columns j - R to j + R with
    R = input_kernel_size // 2 + n_layers * (kernel_size // 2) (leftwards the horizontal stack
    adds no more than the vertical one: every layer moves at most k // 2 columns either way). So
    the whole row needs 2R + 1 >= W, and the first pixels that see it are columns W - 1 - R to R.
    """
    if width < 2 or input_kernel_size < 3 or kernel_size < 3:
        raise ValueError("width must be >= 2 and both kernel sizes >= 3")
    a, b = input_kernel_size // 2, kernel_size // 2
    need = math.ceil((width - 1) / 2)  # R with 2R + 1 >= W
    expected = max(0, math.ceil((need - a) / b))
    value = _number(answer, f"find the fewest layers after the first for which one pixel's field spans all {width} columns of the row above.",
                    "a whole number of layers")
    if value is None:
        return False
    if value < 0:
        return _verdict(False, f"{value:g} is a negative number of layers.")
    n = int(value)
    if n == expected:
        r = _reach(n, input_kernel_size, kernel_size)
        first = width - 1 - r
        return _verdict(True, f"{n} layers: the field reaches {r} columns to each side, {2 * r + 1} columns in all, and the "
                              f"pixels (i, {first}) to (i, {r}) see the whole row above; pixel (i, {first}) is the first.")
    r = _reach(n, input_kernel_size, kernel_size)
    from_corner = max(0, math.ceil((width - 1 - a) / b))
    if n == from_corner and n > expected:
        return _verdict(False, f"with {n} layers pixel (i, 0) reaches the end of the row above, but a pixel in the middle of "
                               "the row needs to reach only about half the row on each side.")
    if n == math.ceil(need / b) and n != expected:
        return _verdict(False, f"{n} would be right if the first layer added nothing; its {input_kernel_size}x{input_kernel_size} "
                               f"window already reaches {a} columns to each side.")
    if n < expected:
        return _verdict(False, f"with {n} layers the field reaches {r} columns to each side of its pixel, {2 * r + 1} columns of "
                               f"the row above, and the row has {width}: too few.")
    return _verdict(False, f"with {n} layers the field spans {2 * r + 1} columns of the row above; "
                           f"fewer layers already give a field of at least {width} columns.")
