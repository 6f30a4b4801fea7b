"""Checks for notebook 02, masked convolutions: the spatial masks, the blind spot, causal normalisation."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ._common import _describe, _number, _unanswered, _verdict, _wrong_mask


def check_spatial_mask(fn: Callable[[int, str], Any] | None) -> bool:
    """Exercise 02.1: a function ``fn(k, mask_type)`` that builds the k x k mask A or B."""
    from ..masks import spatial_mask

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
    from ..receptive_field import blind_spot, layerwise_receptive_fields, masked_conv_stack

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
