"""Checks for notebook 06, fast sampling, completion and likelihood as a score.

The notebook's exercises are predictions the student then checks against the package: the cached
loop's work for a larger image (:func:`check_cached_positions`), the temperature that makes a rare
binary value rarer (:func:`check_temperature_for`) and the AUROC of one image repeated
(:func:`check_repeated_image_auroc`).
"""

from __future__ import annotations

from typing import Any

from ._common import _close, _number, _verdict


def cached_positions(channels: int, height: int, width: int) -> int:
    """Positions the first layer of the package's cached loop computes for one C x H x W image.

    Row 0 starts with a pass over its own row plus the first pixel (W + 1); every later row starts
    with a pass over the row above and its own row plus the first pixel (2W + 1). The other channels
    of a row's first pixel compute that pixel alone (1 each); every sub-pixel of the other pixels
    computes the pixel before and its own (2 each). ``sampling.positions_per_step`` measures the same.
    """
    return (width + 1) + (height - 1) * (2 * width + 1) + height * (channels - 1) + 2 * channels * height * (width - 1)


def check_cached_positions(answer: Any, image_size: tuple[int, int] = (32, 32)) -> bool:
    """Exercise 06.1: predict the positions the cached loop's first layer computes for one grey image
    of ``image_size`` (a whole number), from the 28 x 28 counts of section 1."""
    h, w = (int(s) for s in image_size)
    if h < 2 or w < 2:
        raise ValueError(f"image_size must be at least (2, 2), got {tuple(image_size)!r}")
    size = f"{h}x{w}"
    value = _number(answer, f"predict the cached loop's first-layer positions for one grey {size} image "
                            "(a whole number) from the 28x28 counts of section 1.")
    if value is None:
        return False
    expected = cached_positions(1, h, w)
    if value == expected:
        return _verdict(True, f"{expected:,} positions for a grey {size} image, against {h * w * h * w:,} for the naive "
                              f"loop ({h * w * h * w / expected:.0f}x fewer): the naive count grows with (HW)^2, the cached one with HW.")
    shown = f"{value:,.0f}"
    if value == h * w * h * w:
        hint = "that is the naive loop's count; the cached loop computes a few positions per step."
    elif value == 2 * h * w:
        hint = "two positions per step leaves out the passes over whole rows at the start of each row (the spikes)."
    elif value == h * (2 * w + 1) + 2 * h * (w - 1):
        hint = "the first row has no row above it, so its starting pass is shorter than the others."
    elif value == (w + 1) + (h - 1) * (2 * w + 1) + 2 * h * w:
        hint = "the step that starts a row is the spike itself: it does not also compute two positions."
    elif value == (h - 1) * 2 * w + 2 * h * w or value == h * 2 * w + 2 * h * w:
        hint = "each row-start pass also covers the row's first pixel: count it."
    else:
        hint = ("build it from the kinds of step printed for 28x28 (one at the start, one per later row start, "
                "and all the others) and how each grows with the width.")
    return _verdict(False, f"{shown} is not the cached loop's count for {size}: {hint}")


def _tempered_on(p_on: float, temperature: float) -> float:
    """p(on) of a binary pixel with p(on) = ``p_on`` at ``temperature``: p^(1/T), renormalised."""
    on, off = p_on ** (1 / temperature), (1 - p_on) ** (1 / temperature)
    return on / (on + off)


def check_temperature_for(answer: Any, p_on: float = 0.2, target: float = 0.05) -> bool:
    """Exercise 06.2: the temperature at which a binary pixel with p(on) = ``p_on`` at T = 1 is drawn
    on with probability ``target`` (accepted within 0.0005 of ``target``)."""
    if not (0 < target < p_on < 0.5):
        raise ValueError(f"need 0 < target < p_on < 0.5, got p_on={p_on}, target={target}")
    value = _number(answer, f"predict the temperature T at which a pixel with p(on) = {p_on} at T = 1 "
                            f"is drawn on with probability {target}.", "a number")
    if value is None:
        return False
    if value <= 0:
        return _verdict(False, f"T = {value:g} is not a temperature: the sampler divides by T, so T > 0.")
    got = _tempered_on(p_on, value)
    if abs(got - target) < 5e-4:
        return _verdict(True, f"at T = {value:.4g} the pixel is on with probability {got:.4f}: temperature divides "
                              "the log-odds log(p_on / p_off) by T, so a rare value becomes rarer for T < 1.")
    where = f"at T = {value:.4g} the pixel is on with probability {got:.4f}, not {target}"
    if value >= 1:
        hint = "T >= 1 keeps or flattens the distribution towards 1/2; a rare value gets rarer only for T < 1."
    elif _close(value, target / p_on, 1e-3) or _close(value, p_on / target, 1e-3):
        hint = "temperature does not scale the probability; write p_T(on) / p_T(off) and see what 1/T does to it."
    elif got > target:
        hint = "not sharp enough yet: a lower T."
    else:
        hint = "too sharp: a higher T. The log-odds of the two values tell you exactly how much."
    return _verdict(False, f"{where}: {hint}")


def check_repeated_image_auroc(answer: Any, below: int = 400, tied: int = 20, above: int = 80) -> bool:
    """Exercise 06.3: the AUROC of out-of-distribution inputs that are all one image, given how many
    test digits score below it, the same and above it (higher score = more out of distribution)."""
    counts = (below, tied, above)
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in counts) or sum(counts) == 0:
        raise ValueError(f"below, tied and above must be counts >= 0, not all 0, got {counts}")
    n = sum(counts)
    value = _number(answer, "predict the AUROC (a number between 0 and 1) of the copies of one image.", "a number")
    if value is None:
        return False
    expected = (below + tied / 2) / n
    if _close(value, expected, 1e-3):
        return _verdict(True, f"every copy wins against the {below} digits below it and half-wins against the {tied} ties: "
                              f"({below} + {tied}/2) / {n} = {expected:.3f}, however many copies there are.")
    shown = f"{value:.4g}"
    if not 0 <= value <= 1:
        hint = "an AUROC is a probability, between 0 and 1."
    elif _close(value, below / n, 1e-3):
        hint = "a tie is neither a win nor a loss: it counts one half."
    elif _close(value, (below + tied) / n, 1e-3):
        hint = "a tie counts one half, not a whole win."
    elif _close(value, 1 - expected, 1e-3) or _close(value, above / n, 1e-3) or _close(value, (above + tied) / n, 1e-3):
        hint = "the direction is reversed: the image wins a pair when it scores higher than the digit."
    else:
        hint = "every copy is the same image, so every copy wins, ties or loses against the same digits."
    return _verdict(False, f"{shown} is not that AUROC: {hint}")
