"""The training recipe in one place: learning-rate warm-up and decay, EMA weights, mixed precision,
the output bias a categorical model starts from.

``train.fit`` (and ``python -m pixelcnn_edu train``) takes them as ``schedule="cosine", warmup=0.05``,
``ema=``, ``mixed_precision=True`` and ``marginal_bias=True``; every one is off by default, so the
notebooks' runs are plain Adam at a constant rate. The schedule is
:class:`torch.optim.lr_scheduler.LambdaLR` with :func:`lr_factor`, the average is
:class:`torch.optim.swa_utils.AveragedModel`; this module only says how they are set up.

docs/recipe.md gives the measurements behind each default (held-out bits/dim after 180 s of CPU
training, several seeds, and the notebooks' own budgets).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .baselines import level_counts
from .checks import check_images
from .likelihoods import Categorical

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
    check_images(images[:1], in_channels=model.in_channels, levels=likelihood.levels, name="images")
    counts = level_counts(images, likelihood.levels, per_position=False)  # (C, levels), Laplace's +1
    log_freq = (counts / counts.sum(1, keepdim=True)).log()  # (C, levels)
    order = getattr(model, "output_order", torch.arange(layer.out_channels))  # logit j is the layer's map order[j]
    layer.bias[order.to(layer.bias.device)] = log_freq.flatten().to(layer.bias)
    return log_freq.float()
