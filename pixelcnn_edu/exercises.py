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


def _number(answer: Any, hint: str, kind: str = "a whole number") -> float | None:
    """The student's numeric answer as a float; None (after printing why) if it is missing or not a number."""
    if answer is None:
        _unanswered(hint)
        return None
    value = _as_float(answer)
    if value is None or (kind.startswith("a whole") and value != int(value)):
        _verdict(False, f"expected {kind}, got {_describe(answer)}.")
        return None
    return value


def _describe(value: Any) -> str:
    """A short description of an answer for error messages (type and a clipped repr)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _close(a: float, b: float, rel_tol: float = 1e-4) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


def _student_tensor(fn: Callable[..., Any], args: tuple, call: str) -> torch.Tensor | str:
    """The student's ``fn(*args)`` as a float tensor, or the message to print if it raised."""
    try:
        return torch.as_tensor(fn(*args)).float()
    except Exception as err:  # the student's code failed: report it, do not crash the notebook
        return f"{call} raised {type(err).__name__}: {err}"


def _wrong_mask(fn: Callable[..., Any], args: tuple, call: str, expected: torch.Tensor, hint: str) -> str | None:
    """Why the student's mask ``fn(*args)`` differs from ``expected`` (with both drawn), or None if it matches."""
    from .masks import mask_to_string

    got = _student_tensor(fn, args, call)
    if isinstance(got, str):
        return got
    if got.shape != expected.shape:
        return f"{call} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
    if not torch.equal(got, expected):
        return f"{call} differs {hint}.\nyours:\n{mask_to_string(got)}\nexpected:\n{mask_to_string(expected)}"
    return None


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
    from .masks import spatial_mask

    if fn is None:
        return _unanswered("write my_mask(k, mask_type) returning a k x k tensor of 0s and 1s (rows above the centre, then the left of the centre row; the centre only for mask B).")
    if not callable(fn):
        return _verdict(False, f"expected a function my_mask(k, mask_type), got {_describe(fn)}.")
    for k in (1, 3, 5, 7):
        for mask_type in ("A", "B"):
            call = f"my_mask({k}, {mask_type!r})"
            wrong = _wrong_mask(fn, (k, mask_type), call, spatial_mask(k, mask_type), "from the expected mask")
            if wrong is not None:
                return _verdict(False, wrong)
    return _verdict(True, "your masks match masks.spatial_mask for k = 1, 3, 5, 7 and both types.")


def check_blind_spot_size(
    answer: Any, n_layers: int = 4, image_size: Sequence[int] = (12, 12), position: Sequence[int] = (8, 6)
) -> bool:
    """Exercise 02.2: how many earlier pixels are in the blind spot of a stack of 3x3 masked convolutions?"""
    from .receptive_field import blind_spot, layerwise_receptive_fields, masked_conv_stack

    fields = layerwise_receptive_fields(masked_conv_stack(n_layers, 3), tuple(image_size), tuple(position))
    expected = int(blind_spot(fields[-1], tuple(position)).sum())
    value = _number(answer, f"count the blind-spot pixels of output {tuple(position)} after {n_layers} layers in the receptive-field figure (or with the explorer).", "a whole number of pixels")
    if value is None:
        return False
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


# --- notebook 03: colour masks -------------------------------------------------------------


def _color_names(colors: torch.Tensor) -> str:
    """"R R G B ..." for an int tensor of colour groups (0 = R, 1 = G, 2 = B)."""
    from .masks import COLOR_NAMES

    return " ".join(COLOR_NAMES[int(g)] for g in colors)


def _as_matrix(answer: Any) -> torch.Tensor | None:
    """``answer`` (tensor, NumPy array or nested list of numbers) as a float tensor, else None."""
    try:
        matrix = torch.as_tensor(answer)
    except Exception:  # ragged lists, strings, objects: not a matrix
        return None
    return None if matrix.is_complex() else matrix.float()


def check_color_mask(
    answer: Any, in_channels: int = 4, out_channels: int = 7, mask_type: str = "A", convention: str = "interleaved"
) -> bool:
    """Exercise 03.1: the (out_channels, in_channels) centre-tap connectivity of a colour mask.

    ``answer[o][i]`` is 1 if output map o may read input map i at the current pixel, else 0 (a
    tensor, NumPy array or nested list). The maps are coloured by ``masks.color_of(n, 3,
    convention)``; output o reads input i if colour(i) < colour(o) (mask "A") or colour(i) <=
    colour(o) (mask "B"). The expected matrix is ``masks.channel_mask``'s.
    """
    from .masks import channel_mask, check_color_convention, check_mask_type, color_of, mask_to_string

    check_mask_type(mask_type)
    check_color_convention(convention)
    expected = channel_mask(in_channels, out_channels, mask_type, 3, convention)
    shape = (out_channels, in_channels)
    rows, cols = _color_names(color_of(out_channels, 3, convention)), _color_names(color_of(in_channels, 3, convention))
    if answer is None:
        return _unanswered(f"write the {out_channels} x {in_channels} matrix of 0s and 1s (rows = output maps, columns = input maps); "
                           f"colour the maps first with the {convention} convention.")
    got = _as_matrix(answer)
    if got is None:
        return _verdict(False, f"expected a {out_channels} x {in_channels} matrix of 0s and 1s, got {_describe(answer)}.")
    if tuple(got.shape) == shape[::-1] and shape[0] != shape[1]:
        return _verdict(False, f"your matrix has shape {tuple(got.shape)}, but rows are the {out_channels} output maps and "
                               f"columns the {in_channels} input maps: transpose it to {shape}.")
    if tuple(got.shape) != shape:
        return _verdict(False, f"expected shape {shape} (rows = output maps, columns = input maps), got {tuple(got.shape)}.")
    if not bool(((got == 0) | (got == 1)).all()):
        return _verdict(False, "every entry must be 0 (hidden) or 1 (connected).")
    if torch.equal(got, expected):
        return _verdict(True, f"output maps {rows} read input maps {cols} exactly as mask {mask_type} allows "
                              f"({int(expected.sum())} of {expected.numel()} connections open).")
    other_convention = "contiguous" if convention == "interleaved" else "interleaved"
    other_type = "B" if mask_type == "A" else "A"
    if torch.equal(got, channel_mask(in_channels, out_channels, mask_type, 3, other_convention)):
        rule = "map i has colour i % 3 (R G B R G B ...)" if convention == "interleaved" else "the maps form three consecutive blocks"
        hint = f"that is the {other_convention} convention; here {rule}."
    elif torch.equal(got, channel_mask(in_channels, out_channels, other_type, 3, convention)):
        hint = ("that is mask B; mask A also hides each colour's own maps (so R's rows are all 0)." if mask_type == "A"
                else "that is mask A; mask B also lets each colour read its own maps.")
    else:
        wrong = (got != expected).nonzero().tolist()
        hint = f"{len(wrong)} entries differ, the first at row {wrong[0][0]}, column {wrong[0][1]}."
    return _verdict(False, f"{hint}\nrow colours: {rows} · column colours: {cols}\n"
                           f"yours:\n{mask_to_string(got)}\nexpected:\n{mask_to_string(expected)}")


def check_center_reads(answer: Any, color: str = "G", mask_type: str = "A") -> bool:
    """Exercise 03.2: which colours of the current pixel may the maps of ``color`` read?

    ``answer`` is a set (or list) of names from "R", "G", "B", or ``set()`` for none. Mask A: the
    colours before ``color`` in R -> G -> B; mask B: those and ``color`` itself.
    """
    from .masks import COLOR_NAMES, check_mask_type

    check_mask_type(mask_type)
    if color not in COLOR_NAMES:
        raise ValueError(f"color must be one of {COLOR_NAMES}, got {color!r}")
    rank = COLOR_NAMES.index(color)
    expected = set(COLOR_NAMES[: rank + (mask_type == "B")])
    if answer is None:
        return _unanswered('answer with a set of colour names, e.g. {"R", "B"}, or set() for none.')
    if isinstance(answer, str) or not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(a, str) for a in answer):
        return _verdict(False, f'expected a set of colour names such as {{"R", "B"}}, got {_describe(answer)}.')
    got = {a.strip().upper() for a in answer}
    if got - set(COLOR_NAMES):
        return _verdict(False, f"unknown names {sorted(got - set(COLOR_NAMES))}; use R, G and B.")
    shown = ", ".join(c for c in COLOR_NAMES if c in expected) or "nothing"
    if got == expected:
        rule = "only the colours before it" if mask_type == "A" else "the colours before it and its own maps"
        return _verdict(True, f"under mask {mask_type}, {color} reads {rule} at the current pixel: {shown}.")
    later = [c for c in COLOR_NAMES[rank + 1 :] if c in got]
    if later:
        return _verdict(False, f"{' and '.join(later)} {'comes' if len(later) == 1 else 'come'} after {color} in the order "
                               "R → G → B: reading it would see the future.")
    if color in got:  # only possible under mask A here
        return _verdict(False, f"mask A hides {color}'s own maps: on the raw image the current {color} is the very value being predicted.")
    missing = [c for c in COLOR_NAMES if c in expected - got]
    if missing == [color]:
        return _verdict(False, f"mask B also lets {color}'s maps read the {color} maps of the layer below: those were computed "
                               f"without the current {color} value (mask A hid it), so reading them is safe.")
    return _verdict(False, f"{' and '.join(missing)} {'comes' if len(missing) == 1 else 'come'} before {color} in R → G → B, "
                           f"so {color} may read {'it' if len(missing) == 1 else 'them'}.")


def _index_list(answer: Any) -> list[int] | None:
    """``answer`` (list, tuple, tensor or array of whole numbers) as a list of ints, else None."""
    values = answer.tolist() if hasattr(answer, "tolist") else answer
    if not isinstance(values, (list, tuple)):
        return None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return None
    return [int(v) for v in values]


def check_output_order(answer: Any, levels: int = 4, convention: str = "interleaved") -> bool:
    """Exercise 03.3: the ``output_order`` a PixelCNN head needs for its masks' colour convention.

    An RGB model with ``levels`` levels has P = 3 * levels head maps, coloured by
    ``masks.color_of(P, 3, convention)``. The likelihood reads R's ``levels`` logits from the first
    block of ``out[:, output_order]``, then G's, then B's. ``answer`` lists the P map indices in
    that order. It is right if every block holds only maps of its own colour (in any order): a
    map of a later colour may have read the current value of the channel, which would then see itself.
    """
    from .masks import COLOR_NAMES, check_color_convention, color_of, color_permutation

    levels = check_levels(levels)
    check_color_convention(convention)
    n = 3 * levels
    colors = color_of(n, 3, convention)
    if answer is None:
        return _unanswered(f"list the head maps 0..{n - 1} so that R's {levels} come first, then G's, then B's; "
                           f"the {convention} maps are coloured {_color_names(colors)}.")
    order = _index_list(answer)
    if order is None:
        return _verdict(False, f"expected a list of {n} map indices, got {_describe(answer)}.")
    if sorted(order) != list(range(n)):
        return _verdict(False, f"use each of the maps 0..{n - 1} exactly once, got {order}.")
    problems = []
    for c, name in enumerate(COLOR_NAMES):
        block = torch.tensor(order[c * levels : (c + 1) * levels])
        where = f"{name}'s logits come from maps {block.tolist()}, coloured {_color_names(colors[block])}"
        if bool((colors[block] > c).any()):
            problems.append(f"{where}: a map coloured after {name} has read the current {name}, so {name} would see itself")
        elif bool((colors[block] < c).any()):
            problems.append(f"{where}: it takes maps of an earlier colour, leaving another channel a map of a later one")
    if not problems:
        return _verdict(True, "each channel reads only maps of its own colour (the package's order is "
                              f"{color_permutation(n, 3, convention).tolist()}; the order inside a block is free).")
    return _verdict(False, "; ".join(problems) + ". Give each channel the maps of its own colour.")


# --- notebook 04: Gated PixelCNN -----------------------------------------------------------


def check_stack_masks(fn: Callable[[int, str, str], Any] | None) -> bool:
    """Exercise 04.1: a function ``fn(k, stack, mask_type)`` that builds a stack's k x k footprint."""
    from .masks import stack_mask

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
    from .layers import gate

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


# --- 05 · the discretised logistic mixture ---------------------------------------------------------


def check_log_sigmoid_difference(fn: Callable[[torch.Tensor, torch.Tensor], Any] | None) -> bool:
    """Exercise 05.1: ``fn(a, b)`` = log(sigmoid(a) - sigmoid(b)) for a > b, accurate in float32 even
    where both sigmoids round to 0 or to 1."""
    import torch.nn.functional as F

    if fn is None:
        return _unanswered("write my_log_sigmoid_difference(a, b) without subtracting two probabilities.")
    if not callable(fn):
        return _verdict(False, f"expected a function my_log_sigmoid_difference(a, b), got {_describe(fn)}.")
    cases = {  # (a, b): what makes the case hard
        (1.0, -1.0): "an ordinary bin",
        (0.5, 0.499): "a narrow bin",
        (-40.0, -41.0): "both sigmoids near 0: the far left tail",
        (41.0, 40.0): "both sigmoids round to 1 in float32: the far right tail",
        (-300.0, -301.0): "a tail so far out that sigmoid underflows",
    }
    a = torch.tensor([pair[0] for pair in cases], dtype=torch.float64)
    b = torch.tensor([pair[1] for pair in cases], dtype=torch.float64)
    expected = a + torch.log(-torch.expm1(b - a)) - F.softplus(a) - F.softplus(b)
    got = _student_tensor(fn, (a.float(), b.float()), "my_log_sigmoid_difference(a, b) in float32")
    if isinstance(got, str):
        return _verdict(False, got)
    if got.shape != a.shape:
        return _verdict(False, f"for a and b of shape {tuple(a.shape)} the result has shape {tuple(got.shape)}; compute elementwise.")
    for k, ((x, y), what) in enumerate(cases.items()):
        value = float(got[k])
        if not math.isfinite(value) or abs(value - float(expected[k])) > 1e-3 * max(1.0, abs(float(expected[k]))):
            return _verdict(False, f"a = {x:g}, b = {y:g} ({what}): got {value:.6g}, expected {float(expected[k]):.6g}. "
                                   "Hint: factor out sigmoid(a) and write 1 - exp(b - a) with torch.expm1.")
    return _verdict(True, "exact to float32 precision in the middle and in both tails.")


def check_param_channels(answer: Any, n_mix: int = 10, in_channels: int = 3, coupled: bool = True) -> bool:
    """Exercise 05.2: how many output maps a mixture of ``n_mix`` logistics needs per pixel."""
    from .likelihoods import DiscretizedLogisticMixture

    expected = DiscretizedLogisticMixture(n_mix, 256, coupled=coupled).param_channels(in_channels)
    value = _number(answer, f"count the output maps for {in_channels} channel(s) and {n_mix} components.", "a whole number")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"{expected} maps, against {256 * in_channels} for a 256-way softmax per sub-pixel.")
    if coupled and in_channels == 3 and value == 9 * n_mix:
        return _verdict(False, f"{value:g} counts weights, means and scales per channel; the weights are shared, "
                               "and the coupling coefficients (alpha, beta, gamma) need maps too.")
    return _verdict(False, f"{value:g} is not it. Per component: one weight for the pixel, a mean and a log-scale per "
                           "channel, and one coefficient per (earlier channel, later channel) pair.")


def check_level_probs(fn: Callable[[float, float, int], Any] | None) -> bool:
    """Exercise 05.3: ``fn(mean, log_scale, levels)`` = the (levels,) probabilities of one discretised
    logistic on [-1, 1], with edge bins."""
    from .likelihoods import DiscretizedLogisticMixture

    if fn is None:
        return _unanswered("write my_level_probs(mean, log_scale, levels) returning one probability per level.")
    if not callable(fn):
        return _verdict(False, f"expected a function my_level_probs(mean, log_scale, levels), got {_describe(fn)}.")
    for mean, log_scale, levels in ((0.0, -1.0, 4), (0.9, -2.0, 16), (-1.2, -3.0, 8)):
        mixture = DiscretizedLogisticMixture(1, levels)
        args = (torch.tensor(mean, dtype=torch.float64), torch.tensor(log_scale, dtype=torch.float64))
        expected = mixture.log_bin_mass(torch.arange(levels), *args).exp()
        got = _student_tensor(fn, (mean, log_scale, levels), f"my_level_probs({mean}, {log_scale}, {levels})")
        if isinstance(got, str):
            return _verdict(False, got)
        if got.shape != expected.shape:
            return _verdict(False, f"my_level_probs(..., levels={levels}) gave shape {tuple(got.shape)}, expected ({levels},).")
        if not torch.allclose(got.double(), expected, atol=1e-5):
            inside = mixture.log_bin_mass(torch.arange(levels), *args, edge_bins=False).exp()
            if torch.allclose(got.double(), inside, atol=1e-5):
                return _verdict(False, f"the probabilities sum to {float(got.sum()):.4f}, not 1: level 0 must take all "
                                       "the mass below its upper edge, the top level all the mass above its lower edge.")
            return _verdict(False, f"mean {mean}, log-scale {log_scale}, {levels} levels: got {got.numpy().round(4)}, "
                                   "expected sigmoid((upper - mean) / s) - sigmoid((lower - mean) / s) per bin, "
                                   "with bins of width 2 / (levels - 1) centred on the levels.")
    return _verdict(True, "every bin, including the two edge bins that catch the tails, and the levels sum to 1.")


# --- notebook 06: fast sampling, completion and likelihood as a score -----------------------


def check_naive_positions(fn: Callable[[int, int, int], Any] | None) -> bool:
    """Exercise 06.1: ``fn(channels, height, width)`` = the positions the first layer computes while the
    naive loop draws one image (one full pass per sub-pixel, every pass computes every position)."""
    if fn is None:
        return _unanswered("write naive_positions(channels, height, width): passes times positions per pass.")
    if not callable(fn):
        return _verdict(False, f"expected a function naive_positions(channels, height, width), got {_describe(fn)}.")
    for c, h, w in ((1, 28, 28), (3, 32, 32), (3, 5, 7), (2, 1, 9)):
        expected = c * h * w * h * w
        got = _student_tensor(fn, (c, h, w), f"naive_positions({c}, {h}, {w})")
        if isinstance(got, str):
            return _verdict(False, got)
        if got.numel() != 1 or float(got) != expected:
            value = float(got) if got.numel() == 1 else None
            if value == h * w * h * w and c > 1:
                return _verdict(False, f"for {c} channels the loop runs once per sub-pixel, so {c} times as many passes.")
            if value == c * h * w:
                return _verdict(False, "that counts the passes; each pass computes the layer at every one of the H*W positions.")
            return _verdict(False, f"naive_positions({c}, {h}, {w}) gave {_describe(got)}, expected {expected:,}.")
    return _verdict(True, "C*H*W passes of H*W positions each: the work grows with the square of the image size.")


def check_tempered(fn: Callable[[torch.Tensor, float], Any] | None) -> bool:
    """Exercise 06.2: ``fn(probs, temperature)`` reshapes distributions (N, L) to p^(1/T), renormalised."""
    if fn is None:
        return _unanswered("write tempered(probs, temperature): raise every probability to 1/T and renormalise.")
    if not callable(fn):
        return _verdict(False, f"expected a function tempered(probs, temperature), got {_describe(fn)}.")
    generator = torch.Generator().manual_seed(6)
    probs = torch.softmax(2 * torch.randn(5, 7, generator=generator), dim=1)
    for temperature in (0.5, 1.0, 1.7):
        expected = torch.softmax(probs.log() / temperature, dim=1)
        got = _student_tensor(fn, (probs.clone(), temperature), f"tempered(probs, {temperature})")
        if isinstance(got, str):
            return _verdict(False, got)
        if got.shape != probs.shape:
            return _verdict(False, f"tempered gave shape {tuple(got.shape)}, expected {tuple(probs.shape)} (one distribution per row).")
        if not torch.allclose(got, expected, atol=1e-5):
            if torch.allclose(got, torch.softmax(probs.log() * temperature, dim=1), atol=1e-5):
                return _verdict(False, "that is p^T: the exponent is 1/T, so T < 1 sharpens and T > 1 flattens.")
            if not torch.allclose(got.sum(1), torch.ones(5), atol=1e-4):
                return _verdict(False, "each row must sum to 1 again: divide by the sum of p^(1/T) over the levels.")
            return _verdict(False, f"at T = {temperature} the values differ from p^(1/T) / sum(p^(1/T)).")
    return _verdict(True, "p^(1/T), renormalised: T = 1 leaves the model as it is, and every T keeps the ranking of the levels.")


def check_auroc(fn: Callable[[torch.Tensor, torch.Tensor], Any] | None) -> bool:
    """Exercise 06.3: ``fn(in_scores, out_scores)`` = the AUROC, higher score = out of distribution, ties 1/2."""
    from .scores import auroc

    if fn is None:
        return _unanswered("write my_auroc(in_scores, out_scores): the share of (in, out) pairs where out scores higher.")
    if not callable(fn):
        return _verdict(False, f"expected a function my_auroc(in_scores, out_scores), got {_describe(fn)}.")
    generator = torch.Generator().manual_seed(8)
    for size_in, size_out in ((20, 15), (7, 30)):
        a = torch.randint(0, 8, (size_in,), generator=generator).double()
        b = torch.randint(2, 10, (size_out,), generator=generator).double()
        expected = auroc(a, b)
        got = _student_tensor(fn, (a.clone(), b.clone()), "my_auroc")
        if isinstance(got, str):
            return _verdict(False, got)
        value = float(got) if got.numel() == 1 else None
        if value is None:
            return _verdict(False, f"my_auroc should return one number, got {_describe(got)}.")
        if not _close(value, expected, 1e-6):
            strict = float((b[None, :] > a[:, None]).double().mean())
            if _close(value, 1 - expected, 1e-6):
                return _verdict(False, "the direction is reversed: count pairs where the out-of-distribution score is the higher one.")
            if _close(value, strict, 1e-6):
                return _verdict(False, "ties count one half (these scores have many ties).")
            return _verdict(False, f"got {value:.4f}, expected {expected:.4f} on {size_in} in and {size_out} out scores.")
    return _verdict(True, "the probability that a random out-of-distribution input scores above a random test digit.")
