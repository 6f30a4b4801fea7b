"""Worked solutions to notebook 05's exercises (the discretised logistic mixture), for teachers."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def exercise_1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(sigmoid(a) - sigmoid(b)) for a > b, without subtracting two probabilities.

    sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(b - a)), so the log is
    logsigmoid(a) + logsigmoid(-b) + log(-expm1(b - a)): every term is computed in log space, and
    ``expm1`` keeps 1 - exp(b - a) exact when the bin is narrow.
    """
    return F.logsigmoid(a) + F.logsigmoid(-b) + torch.log(-torch.expm1(b - a))


def exercise_2() -> int:
    """Output maps per pixel of an uncoupled mixture of 6 components for RGB images.

    Without coupling every channel has, per component, its own mixture weight, mean and log-scale,
    and there are no coefficients: 3 channels x 6 components x 3 numbers = 54 (the coupled mixture
    shares the weights and adds three coefficients per component: 6 x (1 + 3 + 3 + 3) = 60).
    """
    channels, components = 3, 6
    return channels * components * 3


def exercise_3(mean: float, log_scale: float, levels: int) -> torch.Tensor:
    """The probabilities of the ``levels`` levels under one discretised logistic on [-1, 1].

    Level k sits at x_k = 2k / (levels - 1) - 1 and owns the bin x_k +- 1 / (levels - 1); its mass is
    the rise of the CDF across the bin. The lowest level takes everything below its upper edge and the
    highest everything above its lower edge, so the probabilities sum to exactly 1.
    """
    half = 1.0 / (levels - 1)
    centres = torch.linspace(-1.0, 1.0, levels, dtype=torch.float64)
    scale = torch.exp(torch.tensor(log_scale, dtype=torch.float64))
    upper = torch.sigmoid((centres + half - mean) / scale)
    lower = torch.sigmoid((centres - half - mean) / scale)
    upper[-1], lower[0] = 1.0, 0.0  # the edge bins take the tails
    return upper - lower
