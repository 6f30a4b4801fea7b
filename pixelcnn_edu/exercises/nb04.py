"""Checks for notebook 04, the Gated PixelCNN: the stacks' masks, the gate, how far the stacks reach."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ._common import _describe, _number, _student_tensor, _unanswered, _verdict, _wrong_mask


def check_stack_masks(fn: Callable[[int, str, str], Any] | None) -> bool:
    """Exercise 04.1: a function ``fn(k, stack, mask_type)`` that builds a stack's k x k footprint."""
    from ..masks import stack_mask

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
                wrong = _wrong_mask(fn, (k, stack, mask_type), call, expected, hint)
                if wrong is not None:
                    return _verdict(False, wrong)
    return _verdict(True, "your footprints match masks.stack_mask for k = 3, 5, 7, both stacks and both mask types.")


def check_gate(fn: Callable[[torch.Tensor], Any] | None) -> bool:
    """Exercise 04.2: a function ``fn(x)`` computing the gated activation of (B, 2p, H, W) -> (B, p, H, W)."""
    from ..layers import gate

    if fn is None:
        return _unanswered("write my_gate(x): split the channels into halves a and b, return tanh(a) * sigmoid(b).")
    if not callable(fn):
        return _verdict(False, f"expected a function my_gate(x), got {_describe(fn)}.")
    generator = torch.Generator().manual_seed(4)
    for shape in ((2, 6, 3, 3), (1, 2, 1, 4)):
        x = 3 * torch.randn(shape, generator=generator)
        expected = gate(x)
        got = _student_tensor(fn, (x.clone(),), f"my_gate on shape {shape}")
        if isinstance(got, str):
            return _verdict(False, got)
        if got.shape != expected.shape:
            return _verdict(False, f"my_gate on shape {shape} gave shape {tuple(got.shape)}, expected {tuple(expected.shape)} (half the channels).")
        if not torch.allclose(got, expected, atol=1e-5):
            a, b = x.chunk(2, dim=1)
            if torch.allclose(got, torch.sigmoid(a) * torch.tanh(b), atol=1e-5):
                return _verdict(False, "the halves are swapped: tanh takes the first half (the signal), sigmoid the second (the gate).")
            return _verdict(False, "the values differ from tanh(first half) * sigmoid(second half).")
    return _verdict(True, "tanh of the first half, scaled by a sigmoid gate from the second half, for every map and pixel.")


def check_layers_to_reach(answer: Any, width: int = 28, input_kernel_size: int = 7, kernel_size: int = 3) -> bool:
    """Exercise 04.3: how many gated layers after the first does pixel (i, 0) need to see (i - 1, W - 1)?

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
    hint = "too few" if value < expected else "too many"
    return _verdict(
        False, f"{value:g} is {hint}: the first layer reaches {input_kernel_size // 2} columns to the right, each later layer {kernel_size // 2} more, and column {width - 1} must be reached."
    )
