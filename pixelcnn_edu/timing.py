"""Timers shared by the notebooks and the benchmarks: the loss of a likelihood (notebook 05,
``benchmarks/likelihood_cost.py``), a model's training pass (notebook 07), sampling, naive or cached
(notebook 06, ``benchmarks/sampling_speed.py``), and whether training in bfloat16 pays on this machine
(``choose_precision``, ``benchmarks/time_to_quality.py``)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import recipe
from .checks import device_and_dtype
from .sampling.loop import _sample_steps


def _median_pass_seconds(run_pass: Callable[[], None], cuda: bool, repeats: int) -> float:
    """Median seconds of ``run_pass()`` over ``repeats`` timed calls after one untimed warm-up call
    (allocations, kernel selection); CUDA work is synchronised around each call."""
    return _median_seconds_each([run_pass], cuda, repeats)[0]


def _median_seconds_each(passes: Sequence[Callable[[], None]], cuda: bool, repeats: int) -> list[float]:
    """The median seconds of each of ``passes``, timed in turn (one, the next, ..., ``repeats`` rounds after
    a round of untimed warm-up calls), so that a load that comes and goes on a shared machine falls on
    all of them alike; CUDA work is synchronised around each call."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times: list[list[float]] = [[] for _ in passes]
    for k in range(repeats + 1):
        for run_pass, kept in zip(passes, times):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            run_pass()
            if cuda:
                torch.cuda.synchronize()
            if k > 0:
                kept.append(time.perf_counter() - start)
    return [sorted(kept)[len(kept) // 2] for kept in times]


def loss_seconds(likelihood, params: torch.Tensor, x: torch.Tensor, repeats: int = 5) -> float:
    """Median seconds of one forward + backward pass of ``-likelihood.log_prob(params, x).sum()``.

    ``params`` (B, P, H, W) and ``x`` (B, C, H, W) on one device; one extra pass first warms up
    (allocations, kernel selection) and is not counted. CUDA work is synchronised around each pass.
    """

    def run_pass() -> None:
        p = params.detach().clone().requires_grad_(True)  # the caller's tensor gets no gradient
        (-likelihood.log_prob(p, x).sum()).backward()

    return _median_pass_seconds(run_pass, params.is_cuda, repeats)


def step_seconds(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, repeats: int = 3, *, mixed_precision: bool = False
) -> float:
    """Median seconds of one training pass of ``model`` on the batch ``x`` (B, C, H, W) in [0, 1]: the
    forward and backward pass of the loss ``-log_prob(x, y).mean()``, in training mode. The optimizer's
    update is left out (it costs the same for models of the same size). One extra pass first warms up
    and is not counted; the gradients are cleared afterwards and CUDA work is synchronised around each pass.
    ``mixed_precision``: the forward pass under :func:`recipe.mixed_precision`, as ``fit(mixed_precision=True)``.
    """
    return _training_pass_seconds(model, x, y, repeats, (mixed_precision,))[0]


def precision_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, repeats: int = 5) -> tuple[float, float]:
    """(float32, bfloat16): the median seconds of one training pass (:func:`step_seconds`) in each
    precision, the two timed in alternation so that both meet the same load."""
    float32, bfloat16 = _training_pass_seconds(model, x, y, repeats, (False, True))
    return float32, bfloat16


def _training_pass_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None, repeats: int,
                           precisions: Sequence[bool]) -> list[float]:
    """The median seconds of a training pass with ``mixed_precision`` each of ``precisions``, in alternation."""
    model.train()

    def training_pass(mixed_precision: bool) -> Callable[[], None]:
        def run_pass() -> None:
            with recipe.mixed_precision(x.device.type, mixed_precision):
                loss = -model.log_prob(x, y).mean()
            loss.backward()
        return run_pass

    seconds = _median_seconds_each([training_pass(m) for m in precisions], x.is_cuda, repeats)
    model.zero_grad(set_to_none=True)
    return seconds


NATIVE_BFLOAT16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}
"""CPU flags (Linux ``/proc/cpuinfo``) of instructions that compute in bfloat16: x86's AVX-512 BF16 and AMX,
Arm's BF16 extension. Without them torch converts to float32 and back around every operation."""


def native_bfloat16(device: torch.device | str, cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether ``device`` computes in bfloat16 natively: for CUDA ``torch.cuda.is_bf16_supported``
    without emulation (compute capability 8.0 and later); for the CPU whether the flags listed in
    ``cpuinfo`` (Linux) include one of :data:`NATIVE_BFLOAT16_FLAGS`. None where it cannot tell (no
    such file, as on macOS and Windows; other devices)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type != "cpu":
        return None
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, Arm
            flags.update(value.split())
    return bool(flags & NATIVE_BFLOAT16_FLAGS) if flags else None


@dataclass
class PrecisionChoice:
    """What :func:`choose_precision` measured and decided.

    bfloat16: whether to train in bfloat16 (``fit(mixed_precision=True)``, ``--mixed-precision``).
    speedup: float32 seconds / bfloat16 seconds of one training pass (above 1: bfloat16 is faster).
    native: whether the hardware computes in bfloat16 (:func:`native_bfloat16`; None: unknown).
    float32_seconds, bfloat16_seconds: the median seconds of one training pass in each.
    """

    bfloat16: bool
    speedup: float
    native: bool | None
    float32_seconds: float
    bfloat16_seconds: float

    def __str__(self) -> str:
        hardware = {True: "computes bfloat16 natively", False: "has no bfloat16 instructions",
                    None: "bfloat16 support unknown"}[self.native]
        return (f"{'bfloat16' if self.bfloat16 else 'float32'}: a training pass took {self.float32_seconds * 1e3:.1f} ms in float32, "
                f"{self.bfloat16_seconds * 1e3:.1f} ms in bfloat16 (speed-up {self.speedup:.2f}x; the hardware {hardware})")


def choose_precision(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    repeats: int = 5,
    min_speedup: float = 1.2,
    cpuinfo: str | Path = "/proc/cpuinfo",
) -> PrecisionChoice:
    """Whether training ``model`` on batches like ``x`` (B, C, H, W) in [0, 1] is faster in bfloat16 here.

    Times a training pass in float32 and in bfloat16 (:func:`precision_seconds`, the medians of
    ``repeats`` passes in alternation after a warm-up) on a copy of the model (the model, its gradients
    and norm statistics and the random state are left alone), on ``x``'s device, at the current thread
    count. bfloat16 is chosen only where the hardware does not say it lacks bfloat16 instructions
    (:func:`native_bfloat16`: emulated, the conversions cost more than they save) and the measured
    speed-up is at least ``min_speedup``: bfloat16 keeps 8 significant bits, so a small gain in speed
    does not pay for the coarser steps.
    """
    native = native_bfloat16(x.device, cpuinfo)
    copied = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):  # dropout draws leave no trace
        float32, bfloat16 = precision_seconds(copied, x, y, repeats)
    speedup = float32 / bfloat16
    return PrecisionChoice(native is not False and speedup >= min_speedup, speedup, native, float32, bfloat16)


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
    # the loop holds eval mode and the thread setting from its first step to its last, as sample() does
    warm_up = _sample_steps(model, n, image_size, y=y, cache=cache, hold=True)  # first calls allocate and pick kernels
    for _ in zip(range(3), warm_up):
        pass
    warm_up.close()  # frees its caches before the timed loop opens its own
    times = []
    for _ in range(repeats):
        loop = _sample_steps(model, n, image_size, y=y, cache=cache, generator=torch.Generator(device=device).manual_seed(seed), hold=True)
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
