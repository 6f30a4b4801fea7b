"""Timers shared by the notebooks and the benchmarks: the loss of a likelihood (notebook 05,
``benchmarks/likelihood_cost.py``), a model's training pass (notebook 07) and sampling, naive or cached
(notebook 06, ``benchmarks/sampling_speed.py``)."""

from __future__ import annotations

import time
from typing import Callable

import torch

from . import sampling
from .checks import device_and_dtype


def _median_pass_seconds(run_pass: Callable[[], None], cuda: bool, repeats: int) -> float:
    """Median seconds of ``run_pass()`` over ``repeats`` timed calls after one untimed warm-up call
    (allocations, kernel selection); CUDA work is synchronised around each call."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times = []
    for k in range(repeats + 1):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        run_pass()
        if cuda:
            torch.cuda.synchronize()
        if k > 0:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def loss_seconds(likelihood, params: torch.Tensor, x: torch.Tensor, repeats: int = 5) -> float:
    """Median seconds of one forward + backward pass of ``-likelihood.log_prob(params, x).sum()``.

    ``params`` (B, P, H, W) and ``x`` (B, C, H, W) on one device; one extra pass first warms up
    (allocations, kernel selection) and is not counted. CUDA work is synchronised around each pass.
    """

    def run_pass() -> None:
        p = params.detach().clone().requires_grad_(True)  # the caller's tensor gets no gradient
        (-likelihood.log_prob(p, x).sum()).backward()

    return _median_pass_seconds(run_pass, params.is_cuda, repeats)


def step_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, repeats: int = 3) -> float:
    """Median seconds of one training pass of ``model`` on the batch ``x`` (B, C, H, W) in [0, 1]: the
    forward and backward pass of the loss ``-log_prob(x, y).mean()``, in training mode. The optimizer's
    update is left out (it costs the same for models of the same size). One extra pass first warms up
    and is not counted; the gradients are cleared afterwards and CUDA work is synchronised around each pass.
    """
    model.train()
    seconds = _median_pass_seconds(lambda: (-model.log_prob(x, y).mean()).backward(), x.is_cuda, repeats)
    model.zero_grad(set_to_none=True)
    return seconds


def sampling_seconds(
    model: torch.nn.Module,
    n: int,
    image_size: tuple[int, int],
    *,
    cache: bool,
    steps: int | None = None,
    seed: int = 0,
    repeats: int = 1,
) -> float:
    """Seconds to draw ``n`` images of ``image_size`` with the cached or the naive loop (the median of
    ``repeats`` timings: on a shared machine single timings vary several-fold).

    With ``steps``, only the first ``steps`` sub-pixels are timed and the time is scaled up to the whole
    image: fair for the naive loop, whose every step is one full pass of the same cost (the cached loop's
    steps differ, so time it whole). A class-conditional model draws the classes 0, 1, 2, ... in turn.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    device, _ = device_and_dtype(model)
    n_classes = getattr(model, "n_classes", None)
    y = None if n_classes is None else (torch.arange(n, device=device) % n_classes)
    total = model.in_channels * image_size[0] * image_size[1]
    warm_up = sampling.sample_steps(model, n, image_size, y=y, cache=cache)  # first calls allocate and pick kernels
    for _ in zip(range(3), warm_up):
        pass
    warm_up.close()  # frees its caches before the timed loop opens its own
    times = []
    for _ in range(repeats):
        loop = sampling.sample_steps(model, n, image_size, y=y, cache=cache, generator=torch.Generator(device=device).manual_seed(seed))
        start, done = time.perf_counter(), 0
        for _ in loop:
            done += 1
            if steps is not None and done >= steps:
                loop.close()
                break
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * total / done)
    return sorted(times)[len(times) // 2]
