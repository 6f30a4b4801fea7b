"""Checks for notebook 06, fast sampling, completion and likelihood as a score: the naive loop's work,
temperature, the AUROC.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ._common import _close, _describe, _student_tensor, _unanswered, _verdict


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
    from ..scores import auroc

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
