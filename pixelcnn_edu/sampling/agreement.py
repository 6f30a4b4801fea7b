"""Checks of the cached sampler against the naive loop: agreement on a shared prefix and draw for draw in
float64 (so no machine's rounding decides the result), and the work done."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch

from .. import incremental
from ..checks import check_image_size, device_and_dtype
from ..models import AutoregressiveModel
from .loop import _sample_steps


@dataclass
class Agreement:
    """How closely the cached loop matches the naive one, in two checks that no float rounding can flip.

    max_prob_diff: the largest |p_cached - p_naive| over every drawn distribution and level, where the
        naive loop scores the cached run's own partial images step by step (one shared prefix, in the
        model's dtype): a draw that rounding tips one way cannot send the two runs down different paths.
    same_values: whether the two loops, each run from the same seed on a float64 copy of the model, draw
        identical values (so identical images). In float64 the probabilities agree to about 1e-14, far
        below any gap between a uniform draw and a level's cumulative probability.
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
    """Compare the cached loop with the naive one (see :class:`Agreement`): first on the cached run's
    prefixes in the model's dtype, then draw against draw in float64, both loops seeded with ``seed``."""
    device, _ = device_and_dtype(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    cached = [(step.position, step.probs.clone(), step.value.clone())
              for step in _sample_steps(model, n, image_size, y=y, temperature=temperature, cache=True, generator=generator, hold=True)]
    worst = _naive_gap(model, cached, n, image_size, y, temperature)

    exact = copy.deepcopy(model).double()

    def draws(cache: bool) -> list[torch.Tensor]:
        generator = torch.Generator(device=device).manual_seed(seed)
        steps = _sample_steps(exact, n, image_size, y=y, temperature=temperature, cache=cache, generator=generator, hold=True)
        return [step.value.clone() for step in steps]

    same = all(torch.equal(a, b) for a, b in zip(draws(False), draws(True)))
    return Agreement(worst, same, len(cached))


@torch.inference_mode()
def _naive_gap(model: AutoregressiveModel, cached: list, n: int, image_size, y: torch.Tensor | None, temperature: float) -> float:
    """max |p_cached - p_naive|: the naive loop's full pass over each partial image the cached run made."""
    device, dtype = device_and_dtype(model)
    h, w = check_image_size(image_size)
    canvas = torch.zeros(n, model.in_channels, h, w, device=device, dtype=dtype)
    y = None if y is None else y.to(device)
    was_training, worst = model.training, 0.0
    model.eval()
    try:
        for (c, i, j), p_cached, value in cached:
            params = model(canvas, y)[:, :, i : i + 1, j : j + 1]  # the naive loop's pass, on the same prefix
            p_naive = model.likelihood.probs(params, temperature, x=canvas[:, :, i : i + 1, j : j + 1])[:, c, :, 0, 0]
            worst = max(worst, (p_naive - p_cached).abs().max().item())
            canvas[:, c, i, j] = value
    finally:
        model.train(was_training)
    return worst


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
        for _ in _sample_steps(model, 1, image_size, cache=cache, generator=generator, hold=True):
            work.append(counted[0])
            counted[0] = 0
    finally:
        handle.remove()
    return torch.tensor(work)
