"""Checks for notebook 05, the discretised logistic mixture: a stable log-difference, the head's size, the bins."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ._common import _describe, _number, _student_tensor, _unanswered, _verdict


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
    from ..likelihoods import DiscretizedLogisticMixture

    mixture = DiscretizedLogisticMixture(n_mix, 256, coupled=coupled)
    expected = mixture.param_channels(in_channels)
    value = _number(answer, f"count the output maps for {in_channels} channel(s) and {n_mix} components.", "a whole number")
    if value is None:
        return False
    if value == expected:
        return _verdict(True, f"{expected} maps, against {256 * in_channels} for a 256-way softmax per sub-pixel.")
    other = DiscretizedLogisticMixture(n_mix, 256, coupled=not coupled).param_channels(in_channels)
    if value == other and in_channels > 1:
        kind = "an uncoupled" if coupled else "the coupled"
        return _verdict(False, f"{value:g} is the count for {kind} mixture. "
                        + ("The coupled one shares one set of weights between the channels and adds the coupling "
                           "coefficients, one per (earlier channel, later channel) pair." if coupled else
                           "Without coupling there are no coefficients, and each channel has weights of its own."))
    if value == mixture.param_channels(1) and in_channels > 1:
        return _verdict(False, f"{value:g} is the count for one channel; the images have {in_channels}.")
    if value == 256 * in_channels:
        return _verdict(False, f"{value:g} is what a 256-way softmax needs; the mixture describes the levels with a few numbers.")
    if coupled:
        return _verdict(False, f"{value:g} is not it. Per component: one weight for the pixel, a mean and a log-scale per "
                               "channel, and one coefficient per (earlier channel, later channel) pair.")
    return _verdict(False, f"{value:g} is not it. Per channel and component: a weight, a mean and a log-scale.")


def check_level_probs(fn: Callable[[float, float, int], Any] | None) -> bool:
    """Exercise 05.3: ``fn(mean, log_scale, levels)`` = the (levels,) probabilities of one discretised
    logistic on [-1, 1], with edge bins."""
    from ..likelihoods import DiscretizedLogisticMixture

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
