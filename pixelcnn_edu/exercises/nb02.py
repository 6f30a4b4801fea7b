"""Checks for notebook 02, masked convolutions: the weights a mask keeps, the blind spot, causal layers."""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from ._common import _describe, _number, _unanswered, _verdict


def check_kept_weights(
    answer: Any, in_channels: int = 4, out_channels: int = 8, kernel_size: int = 5, mask_type: str = "B"
) -> bool:
    """Exercise 02.1: how many kernel weights of ``MaskedConv2d(in_channels, out_channels, kernel_size,
    mask_type)`` does its mask keep (and training can change)? Biases are not counted.

    A grey masked convolution has one k x k kernel per (input map, output map) pair, each multiplied
    by the same spatial mask, so the answer is in_channels * out_channels * (taps of one mask); the
    expected count is the package's own ``masks.conv_mask(...).sum()``.
    """
    from ..masks import check_kernel_size, check_mask_type, conv_mask, spatial_mask

    k = check_kernel_size(kernel_size)
    check_mask_type(mask_type)
    pairs = in_channels * out_channels
    expected = int(conv_mask(in_channels, out_channels, k, mask_type).sum())
    layer = f"MaskedConv2d({in_channels}, {out_channels}, kernel_size={k}, mask_type={mask_type!r})"
    value = _number(answer, f"count the kernel weights of {layer} that its mask keeps (a whole number).", "a whole number")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"one {k}x{k} mask {mask_type} keeps {expected // pairs} taps, and the layer has "
                              f"{in_channels} x {out_channels} = {pairs} kernels: {expected} weights.")

    def taps(size: int, kind: str) -> int:
        return int(spatial_mask(size, kind).sum())

    other = "A" if mask_type == "B" else "B"
    zeroed = pairs * k * k - expected
    if value == pairs * taps(k, other):
        hint = ("that is mask A's count: mask B also keeps the centre tap" if mask_type == "B"
                else "that is mask B's count: mask A hides the centre tap too")
        hint += f" ({value:g} is also the number of weights mask {mask_type} zeroes)." if value == zeroed else "."
    elif value == zeroed:
        hint = "that is the number of weights the mask zeroes; count the ones it keeps."
    elif value == pairs * k * k:
        hint = f"that counts every weight; the mask zeroes {zeroed // pairs} taps of each kernel."
    elif value == expected + out_channels:
        hint = f"you added the {out_channels} biases; count only the kernel weights."
    elif value == expected // pairs:
        hint = f"that is one kernel; the layer has one per (input, output) pair: {in_channels} x {out_channels} = {pairs}."
    elif value in (in_channels * taps(k, mask_type), out_channels * taps(k, mask_type)):
        hint = f"count every (input, output) pair: {in_channels} x {out_channels} = {pairs} kernels."
    else:
        sizes = [s for s in (1, 3, 7, 9) if value == pairs * taps(s, mask_type)]
        if sizes:
            hint = f"that is the answer for a {sizes[0]}x{sizes[0]} kernel; this layer's is {k}x{k}."
        else:
            centre = "the centre" if mask_type == "B" else "not the centre"
            hint = (f"count the taps of one {k}x{k} mask {mask_type} (the rows above the centre, the taps left of "
                    f"it, {centre}) and multiply by the {pairs} kernels.")
    return _verdict(False, f"{value:g} is not the number of weights {layer} keeps: {hint}")


def _blind_spot_count(n_layers: int, image_size: tuple[int, int], position: tuple[int, int]) -> int:
    from ..receptive_field import blind_spot, layerwise_receptive_fields, masked_conv_stack

    fields = layerwise_receptive_fields(masked_conv_stack(n_layers, 3), image_size, position)
    return int(blind_spot(fields[-1], position).sum())


def check_blind_spot_size(
    answer: Any, n_layers: int = 10, image_size: Sequence[int] = (20, 20), position: Sequence[int] = (15, 12)
) -> bool:
    """Exercise 02.2: how many earlier pixels are in the blind spot of output ``position`` after
    ``n_layers`` 3x3 masked convolutions (mask A, then mask B) on an image of ``image_size``?

    The expected count is measured by autograd (``receptive_field.blind_spot``), not stored.
    """
    h, w = (int(s) for s in image_size)
    i, j = (int(p) for p in position)
    expected = _blind_spot_count(n_layers, (h, w), (i, j))
    where = f"output ({i}, {j}) of a {h}x{w} image after {n_layers} layers"
    value = _number(answer, f"count the blind-spot pixels of {where} (a whole number of pixels).", "a whole number of pixels")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"{expected} earlier pixels above and to the right of ({i}, {j}) are never reached.")
    unbounded = _blind_spot_count(n_layers, (h, w + n_layers + 1), (i, j))
    one_more_column = _blind_spot_count(n_layers, (h, w + 1), (i, j))
    if value == unbounded != expected:
        hint = (f"that is the wedge in an image wide enough; this one ends at column {w - 1}, and the wedge "
                "stops growing once the field reaches that edge.")
    elif value == one_more_column != expected:
        hint = (f"one pixel too many per row (or you counted the pixels right of ({i}, {j}) in its own row, "
                f"which come later and are not blind): in row {i} - r the field already reaches column {j} + r.")
    elif value > expected:
        hint = "too many: count only earlier pixels right of the field's sloping edge, up to the image's right edge."
    else:
        hint = "too few: in each row going up, the wedge is one pixel narrower; it starts in the row just above."
    return _verdict(False, f"{value:g} is not the blind spot of {where}: {hint}")


# The layers of exercise 02.3: (is it causal between a mask-A and a mask-B layer, in training mode?, why)
_CAUSAL_LAYERS: dict[str, tuple[bool, str]] = {
    "instance": (False, "InstanceNorm2d normalises each channel by its mean and variance over all H x W "
                        "positions, later pixels included (in eval mode too)"),
    "group": (False, "GroupNorm normalises groups of channels over all H x W positions, later pixels included"),
    "avgpool": (False, "a 3x3 average at (i, j) reads the pixel to its right and the row below"),
    "dropout": (True, "Dropout multiplies each value by a random 0 or 1 / (1 - p) that does not depend on the "
                      "image, so no output reads another position"),
    "conv1x1": (True, "a 1x1 convolution reads only the features at its own position, which after the mask-A "
                      "layer describe earlier pixels only (the reason mask B may keep the centre)"),
}


def causal_layer_candidates(channels: int = 16) -> dict[str, nn.Module]:
    """The layers of exercise 02.3 by name, each taking and returning (B, channels, H, W)."""
    return {
        "instance": nn.InstanceNorm2d(channels),
        "group": nn.GroupNorm(4, channels),
        "avgpool": nn.AvgPool2d(3, stride=1, padding=1),
        "dropout": nn.Dropout(p=0.2),
        "conv1x1": nn.Conv2d(channels, channels, kernel_size=1),
    }


def check_causal_layers(answer: Any) -> bool:
    """Exercise 02.3: which of ``causal_layer_candidates()``, placed between the mask-A layer and a
    mask-B layer of a grey PixelCNN, keep it autoregressive in training mode? A set of names."""
    names = sorted(_CAUSAL_LAYERS)
    if answer is None:
        return _unanswered(f"answer with a set of names from {names}, such as {{\"instance\", \"group\"}}.")
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(a, str) for a in answer):
        return _verdict(False, f'expected a set of names such as {{"dropout", "group"}}, got {_describe(answer)}.')
    got = {a.strip().lower() for a in answer}
    unknown = sorted(got - set(names))
    if unknown:
        return _verdict(False, f"unknown names {unknown}; choose from {names}.")
    expected = {name for name, (causal, _) in _CAUSAL_LAYERS.items() if causal}
    if got == expected:
        return _verdict(True, "; ".join(f"{name}: {_CAUSAL_LAYERS[name][1]}" for name in sorted(expected))
                        + "; the other three read later positions.")
    wrong = [f"{name} leaks: {_CAUSAL_LAYERS[name][1]}" for name in sorted(got - expected)]
    missing = [f"{name} is causal too: {_CAUSAL_LAYERS[name][1]}" for name in sorted(expected - got)]
    return _verdict(False, "; ".join(wrong + missing) + ".")
