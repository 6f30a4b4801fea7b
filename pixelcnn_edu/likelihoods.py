"""Output distributions: how a model's parameters score and draw sub-pixel values.

A likelihood turns the model's output ``params`` (B, P, H, W) into per-sub-pixel
log-probabilities (B, C, H, W) and draws samples. Every likelihood offers

* ``param_channels(in_channels) -> P``: how many output maps the model must produce;
* ``log_prob(params, x) -> (B, C, H, W)`` in nats;
* ``sample(params, temperature=1.0, generator=None) -> (B, C, H, W)`` in [0, 1] on the level grid;
* ``probs(params) -> (B, C, levels, H, W)``: the distribution over levels (for plots and widgets);
* ``config()`` and ``likelihoods.from_config(cfg)`` so checkpoints can rebuild it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .checks import check_levels


class Categorical:
    """A softmax over ``levels`` values for every sub-pixel.

    Parameter layout: ``params[:, c * levels + k]`` is the logit of level k for channel c
    (contiguous blocks, one per channel).
    """

    name = "categorical"

    def __init__(self, levels: int = 256) -> None:
        self.levels = check_levels(levels)

    def __repr__(self) -> str:
        return f"Categorical(levels={self.levels})"

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "levels": self.levels}

    def param_channels(self, in_channels: int) -> int:
        """Output maps the model needs: one logit per level per channel."""
        return in_channels * self.levels

    def logits(self, params: torch.Tensor) -> torch.Tensor:
        """Reshape (B, C*levels, H, W) parameters to logits (B, C, levels, H, W)."""
        if params.dim() != 4 or params.shape[1] % self.levels:
            raise ValueError(
                f"params must have shape (B, C*{self.levels}, H, W) for Categorical(levels={self.levels}), "
                f"got {tuple(params.shape)}"
            )
        b, p, h, w = params.shape
        return params.view(b, p // self.levels, self.levels, h, w)

    def probs(self, params: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Probabilities of every level, (B, C, levels, H, W); each sums to 1 over dim 2."""
        return F.softmax(self.logits(params) / _check_temperature(temperature), dim=2)

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x) per sub-pixel in nats, (B, C, H, W). ``x`` is (B, C, H, W) float in [0, 1]."""
        logits = self.logits(params)
        if x.shape != logits.shape[:2] + logits.shape[3:]:
            raise ValueError(f"x has shape {tuple(x.shape)} but params describe {tuple(logits.shape[:2] + logits.shape[3:])}")
        index = to_level_index(x, self.levels)  # (B, C, H, W) long
        log_p = F.log_softmax(logits, dim=2)  # log softmax over the levels
        return log_p.gather(2, index.unsqueeze(2)).squeeze(2)

    def sample(
        self, params: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw one value per sub-pixel, (B, C, H, W) float in [0, 1] on the level grid."""
        probs = self.probs(params, temperature)  # (B, C, L, H, W)
        flat = probs.movedim(2, -1).reshape(-1, self.levels)
        index = torch.multinomial(flat, 1, generator=generator)
        shape = probs.movedim(2, -1).shape[:-1]
        return index.view(shape).to(params.dtype) / (self.levels - 1)


def _check_temperature(temperature: float) -> float:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return temperature


def to_level_index(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Map values on the grid {0, 1/(levels-1), ..., 1} to integer levels {0, ..., levels-1}."""
    return (x.detach() * (levels - 1)).round().long().clamp_(0, levels - 1)


def bits_per_dim(log_prob: torch.Tensor) -> torch.Tensor:
    """Average negative log-likelihood in bits per sub-pixel.

    ``log_prob`` is (B, C, H, W) in nats; returns a scalar tensor
    ``-sum(log_prob) / (B * C * H * W * ln 2)``.
    """
    if log_prob.dim() != 4:
        raise ValueError(f"log_prob must have shape (B, C, H, W), got {tuple(log_prob.shape)}")
    return -log_prob.sum((1, 2, 3)).mean() / (log_prob[0].numel() * math.log(2))


_LIKELIHOODS = {Categorical.name: Categorical}


def from_config(config: dict[str, Any]):
    """Rebuild a likelihood from its ``config()`` dict."""
    cfg = dict(config)
    name = cfg.pop("name", None)
    if name not in _LIKELIHOODS:
        raise ValueError(f"unknown likelihood {name!r}; known: {sorted(_LIKELIHOODS)}")
    return _LIKELIHOODS[name](**cfg)
