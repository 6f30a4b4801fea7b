"""Checks of the cached sampler against the naive loop: agreement step by step, and the work done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .. import incremental
from ..checks import device_and_dtype
from ..models import AutoregressiveModel
from .loop import sample_steps


@dataclass
class Agreement:
    """How closely the cached loop matches the naive one, step by step, for the same generator seed.

    max_prob_diff: the largest |p_cached - p_naive| over every drawn distribution and level.
    same_values: whether every drawn value (so every image) is identical.
    steps: the number of sub-pixels compared.
    """

    max_prob_diff: float
    same_values: bool
    steps: int


def agreement(
    model: AutoregressiveModel,
    n: int,
    image_size: int | Sequence[int],
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    seed: int = 0,
) -> Agreement:
    """Run the naive and then the cached loop from generators seeded with ``seed`` and compare them
    step by step (one after the other: a model runs one sampling loop at a time)."""
    device, _ = device_and_dtype(model)

    def run(cache: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:  # (probs, value) of every step
        generator = torch.Generator(device=device).manual_seed(seed)
        steps = sample_steps(model, n, image_size, y=y, temperature=temperature, cache=cache, generator=generator)
        return [(step.probs.clone(), step.value.clone()) for step in steps]

    naive, cached = run(False), run(True)
    worst = max((p - q).abs().max().item() for (p, _), (q, _) in zip(naive, cached))
    same = all(torch.equal(a, b) for (_, a), (_, b) in zip(naive, cached))
    return Agreement(worst, same, len(naive))


def positions_per_step(
    model: AutoregressiveModel, image_size: int | Sequence[int], *, cache: bool, layer: torch.nn.Module | None = None
) -> torch.Tensor:
    """(T,) how many output positions ``layer`` computed for each sub-pixel drawn (one image, in
    drawing order; the passes over whole rows count towards the step that follows them).

    ``layer`` defaults to the model's first cached layer (its input convolution). The naive loop
    computes all H*W positions at every step; the cached one a few, plus a row at each new row.
    """
    if layer is None:
        layer = next(m for m in model.modules() if isinstance(m, incremental.CachedLayer))
    counted = [0]

    def count(module: torch.nn.Module, args: tuple, out: torch.Tensor | tuple[torch.Tensor, ...]) -> None:
        first = out[0] if isinstance(out, tuple) else out  # a gated block returns (v, h, skip) of one region
        counted[0] += first.shape[-2] * first.shape[-1]

    handle = layer.register_forward_hook(count)
    work = []
    try:
        generator = torch.Generator(device=device_and_dtype(model)[0]).manual_seed(0)
        for _ in sample_steps(model, 1, image_size, cache=cache, generator=generator):
            work.append(counted[0])
            counted[0] = 0
    finally:
        handle.remove()
    return torch.tensor(work)
