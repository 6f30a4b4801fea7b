"""Timing the loss of a likelihood, for notebook 05 and ``benchmarks/likelihood_cost.py``."""

from __future__ import annotations

import time

import torch


def loss_seconds(likelihood, params: torch.Tensor, x: torch.Tensor, repeats: int = 5) -> float:
    """Median seconds of one forward + backward pass of ``-likelihood.log_prob(params, x).sum()``.

    ``params`` (B, P, H, W) and ``x`` (B, C, H, W) on one device; one extra pass first warms up
    (allocations, kernel selection) and is not counted. CUDA work is synchronised around each pass.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times = []
    for k in range(repeats + 1):
        p = params.detach().clone().requires_grad_(True)
        if p.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        (-likelihood.log_prob(p, x).sum()).backward()
        if p.is_cuda:
            torch.cuda.synchronize()
        if k > 0:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
