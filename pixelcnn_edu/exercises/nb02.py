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


def check_blind_spot_size(answer: Any, image_size: Sequence[int] = (20, 20), position: Sequence[int] = (15, 12)) -> bool:
    """Exercise 02.2: how many earlier pixels of output ``position`` of an ``image_size`` image does no
    depth of a stack of 3x3 masked convolutions (mask A, then mask B) reach: its blind spot?

    The expected count is measured by autograd (``receptive_field.never_reached``), not stored; the
    hints recognise the pixels a given depth has not reached yet, and the bounding-box wedge of one depth.
    """
    from ..receptive_field import blind_spot, layerwise_receptive_fields, masked_conv_stack, never_reached, raster_order_mask

    h, w = (int(s) for s in image_size)
    i, j = (int(p) for p in position)
    expected = int(never_reached((h, w), (i, j)).sum())
    where = f"output ({i}, {j}) of a {h}x{w} image"
    value = _number(answer, f"count the earlier pixels of {where} that no depth reaches (a whole number of pixels).",
                    "a whole number of pixels")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"{expected} earlier pixels above and to the right of ({i}, {j}), right of the field's "
                              "45-degree edge, are never reached, however deep the stack.")
    fields = layerwise_receptive_fields(masked_conv_stack(max(h, w)), (h, w), (i, j))  # (depth, H, W)
    earlier = int(raster_order_mask((1, h, w), (0, i, j))[0].sum())
    not_yet = {depth: earlier - int((field != 0).sum()) for depth, field in enumerate(fields, start=1)}
    boxed = {depth: int(blind_spot(field, (i, j)).sum()) for depth, field in enumerate(fields, start=1)}
    right_of_target = w - 1 - j  # the later pixels of the output's own row
    if value in boxed.values():
        depth = min(d for d, count in boxed.items() if count == value)
        layers = f"{depth} layer{'s' if depth > 1 else ''}"
        hint = (f"that is the part of it inside the bounding box of the field after {layers}; the blind spot does "
                f"not depend on the depth: in each row above, it runs to the image's right edge, column {w - 1}.")
    elif value in not_yet.values():
        depth = min(d for d, count in not_yet.items() if count == value)
        hint = (f"that counts every earlier pixel that {depth} layer{'s' if depth > 1 else ''} do not reach yet; more "
                "layers reach most of them. Count only those no depth reaches.")
    elif value == expected + right_of_target:
        hint = (f"one pixel too many per row, or you counted the {right_of_target} pixels right of ({i}, {j}) in its own "
                f"row, which come later and are not blind: in row {i} - r the field reaches column {j} + r.")
    elif value > expected:
        hint = (f"too many: in row {i} - r the field reaches column {j} + r; count only the columns right of that, up to "
                f"the image's right edge, column {w - 1}.")
    else:
        hint = (f"too few: the blind spot starts in the row just above ({i}, {j}) and reaches the image's right edge in "
                "every row; going up, each row loses one pixel.")
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
                        + ". The others leak: " + "; ".join(f"{name}: {_CAUSAL_LAYERS[name][1]}" for name in names
                                                          if name not in expected) + ".")
    leaking, missing = len(got - expected), len(expected - got)
    problems = []
    if leaking:
        verb = "lets" if leaking == 1 else "let"
        problems.append(f"{leaking} of its layers {verb} the output at (i, j) read later positions")
    if missing:
        problems.append(f"{missing} layer{' that keeps' if missing == 1 else 's that keep'} the model causal "
                        f"{'is' if missing == 1 else 'are'} missing")
    shown = "{" + ", ".join(map(repr, sorted(got))) + "}" if got else "set()"
    return _verdict(False, f"your answer {shown}: {' and '.join(problems)}. Hint: a layer between the two keeps "
                           "the model causal only if its output at (i, j) is computed from its input at (i, j) alone. "
                           "Ask of each layer which positions of its input its output at (i, j) reads. To test one, "
                           "put it between MaskedConv2d(1, 8, 3, \"A\") and MaskedConv2d(8, 1, 3, \"B\") in train mode "
                           "and look for gradient from a later pixel (receptive_field.input_gradient, "
                           "receptive_field.future_leak).")
