"""The training recipe in one place: learning-rate warm-up and decay, EMA weights, mixed precision,
the output bias a categorical model starts from.

Measured with ``benchmarks/time_to_quality.py`` (256 levels, embedded digits, batch 64, 180 s on two
threads, held-out bits/dim; one run per seed):

* PixelCNN++ (894,590 parameters, lr 2e-3): constant 1.443 / 1.316 / 1.417 (seeds 0-2, mean 1.392);
  5 % warm-up then cosine decay 1.363 / 1.389 / 1.345 (mean 1.366). Lower on average and with a
  smaller spread, but the difference is within the seed-to-seed noise.
* Gated PixelCNN, shipped 256-level shape (48,400, categorical, seed 0): constant lr 2e-3 1.202,
  cosine lr 2e-3 1.222, cosine lr 4e-3 1.202: no gain.
* The same gated shape with a logistic mixture of 5 (40,447): constant 1.517 raw (its last weights
  are noisy; an EMA with decay 0.99 scored 1.290), cosine 1.276 / 1.265 (seeds 0, 1).
* EMA: in runs of ~120 (PixelCNN++) to ~560 (gated) steps an average with decay 0.99 or 0.995 is
  worse than the raw weights, except after a constant rate for the mixture; the paper's 0.9995
  needs tens of thousands of steps. So it is off by default.
* Weight norm on every convolution (PixelCNN++, constant lr 2e-3, seeds 0 and 1): 1.440 / 1.380
  against 1.448 / 1.342 without it in the same session: no gain, so the package does not apply it.
* The reference code's hard clamp of the log-scale at -7: 1.554 / 1.473 / 1.527, worse than the
  package's smooth bound in every seed, so the smooth bound stays.

At the notebooks' budgets (``fit`` for a fixed number of epochs, batch 64, test bits/dim of seeds 0 / 1,
measured together in one later session): constant lr 2e-3 | 5 % warm-up then cosine, lr 2e-3 | the
same with lr 4e-3:

* PixelCNN 32 x 4, binarised digits, 3 epochs: 0.1443 / 0.1423 | 0.1500 / 0.1510 | 0.1440 / 0.1439
* Gated 12 x 4, binarised digits, 3 epochs: 0.1449 / 0.1458 | 0.1571 / 0.1580 | 0.1486 / 0.1486
* PixelCNN 32 x 4, R -> G -> B, coloured digits at 4 levels, 5 epochs: 0.2001 / 0.2013 |
  0.2742 / 0.2884 | 0.2037 / 0.2241
* Gated 12 x 4, mixture of 5, first 1,500 digits at 256 levels, 2 epochs: 1.7423 / 1.9034 |
  2.1442 / 2.2064 | 1.7978 / 1.9822

In runs this short a decay to zero spends much of the budget at small rates: at the same peak rate
the schedule was worse in all eight runs, and with the peak doubled still worse in seven (better by
0.0003 in one).

Mixed precision (``fit(mixed_precision=True)``: the network in bfloat16 under ``torch.autocast``,
the likelihood and the scores in float32), same protocol, on this project's CPU (AMD EPYC with
AVX-512 BF16), one session, gated shipped shape (48,400 parameters), constant rate:

* lr 2e-3: float32 1.193 / 1.190 (seeds 0, 1; 165-169 images/s), mixed 1.179 / 1.181 (226-252 images/s)
* lr 3e-3: float32 1.187 (seed 0, 163 images/s), mixed 1.162 / 1.164 (249-258 images/s)
* lr 4e-3: mixed 1.158 / 1.156 (241-266 images/s): the best of any run so far
* the same shape with a mixture of 5 (40,447), cosine, lr 2e-3, seed 0: float32 1.265, mixed 1.239
  (291 against 437 images/s)
* wider (24 maps, 101,080 parameters), mixed, lr 2e-3: 1.185: more steps beat more maps here.

1.3-1.6 times the images per second, and 0.009-0.026 bits/dim lower at the same budget and rate.
A CPU without bfloat16 instructions was not measured; there the conversions may cost more than they
save, so it is off by default, and ``benchmarks/time_to_quality.py``'s recommended run turns it on.

Starting at the histogram (``fit(marginal_bias=True)``, :func:`start_at_marginal`), same protocol,
the recommended gated shape in mixed precision at lr 4e-3, seeds 0 / 1 / 2, measured in one later session:

* after 60 s: 1.184 / 1.190 / 1.193 against 1.201 / 1.198 / 1.201 from the usual start (0.011 lower on average);
* after 180 s: 1.146 / 1.148 / 1.157 against 1.155 / 1.155 / 1.155 (0.005 lower on average, within the
  seeds' spread: one seed ended 0.002 higher).

A quicker start that the longer run catches up with, so it is off by default and the benchmark's
recommended run does not use it.

So ``train.fit`` keeps a constant rate by default (the notebooks' runs are unchanged) and takes
``schedule="cosine", warmup=0.05`` and ``ema=`` when asked. The schedule is
:class:`torch.optim.lr_scheduler.LambdaLR` and the average is
:class:`torch.optim.swa_utils.AveragedModel`; this module only says how they are set up.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .checks import check_images
from .likelihoods import Categorical, to_level_index

SCHEDULES = ("constant", "cosine")


def check_schedule(schedule: str, warmup: float) -> None:
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup must be a fraction of the steps in [0, 1), got {warmup!r}")


def lr_factor(progress: float, *, schedule: str = "cosine", warmup: float = 0.05) -> float:
    """The multiplier of the base learning rate after a fraction ``progress`` (0..1) of the run:
    a linear rise over the first ``warmup`` of it, then constant or a cosine down to 0 at the end."""
    progress = min(max(progress, 0.0), 1.0)
    rise = min(1.0, progress / warmup) if warmup > 0 else 1.0
    if schedule == "constant" or progress <= warmup:
        return rise
    return rise * 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


def lr_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, *, schedule: str = "cosine", warmup: float = 0.05, first_step: int = 0
) -> LambdaLR:
    """A scheduler stepped once per optimizer step: the run's step s (counting from 0) uses
    ``lr_factor((s + 0.5) / total_steps)``, the middle of its share of the run, so neither the first
    step (warm-up) nor the last (decay) has a rate of exactly 0. A resumed
    run passes the steps already taken as ``first_step``: the rate is a function of the step alone,
    so it needs no state of its own in the checkpoint."""
    check_schedule(schedule, warmup)
    total = max(total_steps, 1)
    return LambdaLR(optimizer, lambda s: lr_factor((first_step + s + 0.5) / total, schedule=schedule, warmup=warmup))


def ema_model(model: torch.nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``model``'s parameters (update it with :func:`update_ema`
    after each optimizer step; evaluate or sample from ``.module``). ``.decay`` records the decay."""
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 < decay < 1.0:
        raise ValueError(f"ema decay must be a number in (0, 1), e.g. 0.999, got {decay!r}")
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    averaged.decay = float(decay)
    return averaged


def mixed_precision(device_type: str, enabled: bool = True) -> torch.autocast:
    """The context that ``fit(mixed_precision=True)`` trains in: :func:`torch.autocast` to bfloat16 on
    ``device_type`` ("cpu", "cuda"). A no-op context when ``enabled`` is False."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def update_ema(averaged: AveragedModel, model: torch.nn.Module) -> None:
    """Average in the parameters after a step and copy the buffers as they are: masks and integer
    orders must not be averaged, and a norm's running statistics belong to the current weights'
    own history."""
    averaged.update_parameters(model)
    for kept, current in zip(averaged.module.buffers(), model.buffers()):
        kept.copy_(current)


@torch.no_grad()
def start_at_marginal(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Set a categorical model's output bias to the log-frequencies of the levels in ``images``.

    A fresh network's logits are small random numbers, so before any step it predicts nearly the
    uniform distribution at every sub-pixel (about 8 bits per sub-pixel at 256 levels). With the
    output bias set to log p(level) of the training images, one per channel and level, it starts at
    the images' level histogram instead (most pixels of a digit are background) and the steps go to
    what the pixel's context adds. Laplace's +1 keeps every level's probability above 0.

    ``model`` is a :class:`models.PixelCNN`, :class:`models.GatedPixelCNN` or
    :class:`models.PixelCNNPlusPlus` with a :class:`likelihoods.Categorical` likelihood (their last
    layer is a convolution whose maps, reordered by ``output_order``, are the logits); ``images``
    (N, C, H, W) in [0, 1] on its level grid. Returns the log-frequencies, (C, levels).
    """
    likelihood = getattr(model, "likelihood", None)
    if not isinstance(likelihood, Categorical):
        raise TypeError(f"start_at_marginal needs a model with a Categorical likelihood (one logit per level), got {likelihood!r}")
    head = getattr(model, "head", None)
    layer = head[-1] if isinstance(head, nn.Sequential) else head
    if not isinstance(layer, nn.Conv2d) or layer.bias is None:
        raise TypeError(
            f"start_at_marginal sets the bias of a convolutional output layer (PixelCNN, GatedPixelCNN, "
            f"PixelCNNPlusPlus), which {type(model).__name__} does not have"
        )
    if not isinstance(images, torch.Tensor) or images.dim() == 0 or images.shape[0] == 0:
        raise ValueError(f"start_at_marginal needs a tensor of training images (N, C, H, W) with N >= 1, got {images!r:.80}")
    counts = torch.ones(model.in_channels, likelihood.levels, dtype=torch.float64)  # Laplace's +1
    for chunk in images.split(1024):  # a large training set is counted a slice at a time
        check_images(chunk, in_channels=model.in_channels, levels=likelihood.levels, name="images")
        index = to_level_index(chunk, likelihood.levels)  # (n, C, H, W)
        for c, row in enumerate(counts):
            row += torch.bincount(index[:, c].flatten().cpu(), minlength=likelihood.levels)
    log_freq = (counts / counts.sum(1, keepdim=True)).log()  # (C, levels)
    order = getattr(model, "output_order", torch.arange(layer.out_channels))  # logit j is the layer's map order[j]
    layer.bias[order.to(layer.bias.device)] = log_freq.flatten().to(layer.bias)
    return log_freq.float()
