"""Checks for notebook 05, the discretised logistic mixture: the reference code's bin mass, the head's size, the bins."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ._common import _describe, _number, _student_tensor, _unanswered, _verdict


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
        return _verdict(False, f"{value:g} is not it. List what one component needs to describe a whole pixel, then "
                               "what the coupling adds between the channels.")
    return _verdict(False, f"{value:g} is not it. List what one logistic component needs, then count components and channels.")


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


def _reference_log_bin_mass(level: int, mean: torch.Tensor, log_scale: torch.Tensor, levels: int) -> torch.Tensor:
    """The fallback of the PixelCNN++ reference code for an interior bin: the log-density of the logistic
    at the bin's centre plus the log of the bin's width, log f(c_k) + log(2 / (levels - 1)), on [-1, 1]."""
    import torch.nn.functional as F

    centre = -1.0 + 2.0 * level / (levels - 1)
    t = (centre - mean) / log_scale.exp()  # standardised distance of the centre from the mean
    return t - log_scale - 2 * F.softplus(t) + math.log(2.0 / (levels - 1))


def check_reference_gap(answer: Any, mean: float = 0.9, log_scale: float = -4.0, level: int = 10, levels: int = 256) -> bool:
    """Exercise 05.1: a prediction. How many nats below the exact log P(level) does the reference code's
    fallback, log f(centre) + log(bin width), lie for one narrow logistic far from the level?

    Far in a tail the density is proportional to exp(t) in the standardised variable t, so the exact mass
    of a bin of half-width h (in t) is the centre's density times the width times sinh(h) / h: the gap is
    log(sinh(h) / h), about h^2 / 6. A prediction within a factor of 2 of it is accepted."""
    from ..likelihoods import DiscretizedLogisticMixture

    if levels < 2 or not 0 < level < levels - 1:
        raise ValueError(f"level must be an interior level of levels >= 3, got level={level!r}, levels={levels!r}")
    value = _number(answer, f"predict how many nats the reference's log P(level {level}) lies below the exact one "
                            f"(mean {mean}, log-scale {log_scale}).", "a number")
    if value is None:
        return False
    mu = torch.tensor(mean, dtype=torch.float64, requires_grad=True)
    s = torch.tensor(log_scale, dtype=torch.float64)
    exact = DiscretizedLogisticMixture(1, levels).log_bin_mass(torch.tensor(level), mu, s)
    reference = _reference_log_bin_mass(level, mu, s, levels)
    gap = float((exact - reference).detach())
    half_width = (1.0 / (levels - 1)) / math.exp(log_scale)
    if gap / 2 <= value <= 2 * gap:
        (grad_exact,) = torch.autograd.grad(exact, mu, retain_graph=True)
        (grad_reference,) = torch.autograd.grad(reference, mu)
        return _verdict(True, f"computed: exact log P = {float(exact.detach()):.4f}, the reference's {float(reference.detach()):.4f}, a gap of "
                              f"{gap:.4f} nats (log(sinh h / h) with h = {half_width:.3f}); the gradients with respect to the mean "
                              f"are {float(grad_exact):.2f} and {float(grad_reference):.2f}. No floor, and the gradient is kept.")
    naive = float(DiscretizedLogisticMixture(1, levels).log_bin_mass(torch.tensor(level), mu.detach(), s)) - math.log(1e-12)
    if abs(value - abs(naive)) < 0.1 * abs(naive):
        return _verdict(False, f"{value:g} nats is about the distance to the blog's floor log(1e-12). The reference's fallback has no "
                               "floor: the log-density is computed in log space, so it keeps falling with the true mass.")
    if value == 0:
        return _verdict(False, "0 would need the density to be constant across the bin. In the tail it is proportional to "
                               "exp(t) in the standardised variable t: compare its integral over the bin with its value at "
                               "the centre times the width.")
    if value < 0:
        return _verdict(False, f"{value:g} says the reference lies above the exact value. exp(t) is convex: its mean over the bin "
                               "exceeds its value at the centre, so the centre-times-width estimate is too small.")
    return _verdict(False, f"{value:g} nats is {'too large' if value > 2 * gap else 'too small'}. Hint: measure the bin's "
                           "half-width in units of the scale, h = (1/255) / exp(log_scale), and compare the integral of exp(t) "
                           "from -h to h with 2h, its centre value times the width.")
