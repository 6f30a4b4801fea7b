"""Time to quality: held-out bits/dim after a fixed CPU training budget, for any model of the package.

    python benchmarks/time_to_quality.py [--model gated --kwargs '{"hidden": 16}'] [--seconds 180] [--threads 2]
    python benchmarks/time_to_quality.py --table          # the package's main configurations, one after another

The protocol (issue 13): the embedded digits at 256 grey levels, split per class into the first 450
for training and the last 50 held out (the embedded train and test splits are exactly that), batches
of 64 drawn in a fresh random order every epoch, Adam, gradient-norm clipping at 1.0 (``--clip-grad``), trained from
scratch for ``--seconds`` of wall time (the held-out evaluation not counted), then the held-out
bits/dim. ``--weight-norm`` puts ``torch.nn.utils.parametrizations.weight_norm`` on every
convolution (an experiment: the reference PixelCNN++ code normalises every one);
``--mixed-precision`` runs the network in bfloat16 under ``torch.autocast`` (``--no-mixed-precision``
forbids it); ``--marginal-bias`` starts a categorical model's output bias at the training images' level
histogram. Without ``--model`` it runs the recommended configuration, in bfloat16 only where that pays
on this machine: ``timing.choose_precision`` times a few training passes in both precisions first (not
counted in the budget) and prints its decision and the measured speed-up, unless ``--mixed-precision``
or ``--no-mixed-precision`` decides. Its last line reads ``time-to-quality: X bits/dim held out after
S s``. Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm
from torch.optim.swa_utils import AveragedModel

from pixelcnn_edu import data, likelihoods, models, recipe, timing, train
from pixelcnn_edu.likelihoods import bits_per_dim

# The best configuration of at most 1M parameters measured so far, with its learning rate. Measured in
# bfloat16 on a CPU with AVX-512 BF16 (1.3-1.6x the images per second); on an AMD EPYC with AVX2 only
# bfloat16 was slower and worse (1.267 bits/dim in 180 s against 1.179 in float32), so the recommended
# run chooses its precision by measurement (recommended_precision).
RECOMMENDED = ("gated", dict(hidden=16, n_layers=6, dilations=[1, 2, 1, 3, 1, 2]), 4e-3)
TABLE: list[tuple[str, dict[str, Any], float]] = [
    RECOMMENDED,
    ("gated", dict(hidden=64, n_layers=8), 1e-3),
    ("gated", dict(hidden=62, n_layers=3, kernel_size=7, skips=False), 1e-3),  # ~850k, faster than the plain model
    ("pixelcnn++", dict(in_channels=1, hidden=40, n_layers=1, n_mix=10), 1e-3),
    ("pixelcnn", dict(hidden=64, n_layers=5, dilations=[1, 2, 1, 3, 1]), 1e-3),
]


def with_weight_norm(model: nn.Module) -> nn.Module:
    """Weight-normalise every convolution (dim 0 holds the outputs of a Conv2d, dim 1 of a transposed one)."""
    for module in list(model.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            weight_norm(module, dim=1 if isinstance(module, nn.ConvTranspose2d) else 0)
    return model


class HardClamp(likelihoods.DiscretizedLogisticMixture):
    """The reference code's log-scale bound: clamp(raw, min=-7), no upper bound (an experiment)."""

    def bound_log_scales(self, raw_scales: torch.Tensor) -> torch.Tensor:
        return raw_scales.clamp(min=self.log_scale_min)


def train_for(
    model: nn.Module, train_set: data.ImageDataset, seconds: float, args: argparse.Namespace, lr: float
) -> tuple[int, float, list[AveragedModel]]:
    """Train for ``seconds`` of wall time with the recipe of ``args`` (the schedule's progress is
    the fraction of the budget spent); returns (images trained on, seconds spent, EMA copies)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    averages = [recipe.ema_model(model, d) for d in args.ema]
    generator = torch.Generator().manual_seed(args.seed)
    model.train()
    seen, start = 0, time.perf_counter()
    while True:
        order = torch.randperm(len(train_set), generator=generator)
        for first in range(0, len(order), args.batch_size):
            idx = order[first : first + args.batch_size]
            factor = recipe.lr_factor((time.perf_counter() - start) / seconds, schedule=args.schedule, warmup=args.warmup)
            for group in optimizer.param_groups:
                group["lr"] = lr * factor
            with recipe.mixed_precision("cpu", args.mixed_precision):
                log_p = model.log_prob(train_set.images[idx], train_set.labels[idx] if model.n_classes else None)
            loss = bits_per_dim(log_p)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
            optimizer.step()
            for average in averages:
                recipe.update_ema(average, model)
            seen += len(idx)
            if time.perf_counter() - start >= seconds:
                return seen, time.perf_counter() - start, averages


def measure(name: str, kwargs: dict[str, Any], lr: float, args: argparse.Namespace) -> float:
    train_set = data.load_dataset(data.EMBEDDED, "train", levels=256)
    held_out = data.load_dataset(data.EMBEDDED, "test", levels=256)
    torch.manual_seed(args.seed)
    kwargs = dict(kwargs)
    if args.log_scale_clamp == "hard":
        kwargs["likelihood"] = HardClamp(kwargs.pop("n_mix", 10), 256)
    model = models.MODELS[name](**{"in_channels": 1, "levels": 256, **kwargs})
    if args.weight_norm:
        with_weight_norm(model)
    if args.marginal_bias:
        recipe.start_at_marginal(model, train_set.images)
    params = sum(p.numel() for p in model.parameters())
    seen, spent, averages = train_for(model, train_set, args.seconds, args, lr)
    bpd = train.evaluate(model, held_out, batch_size=256)
    ema = "".join(f", EMA {d:g}: {train.evaluate(a.module, held_out, batch_size=256):.3f}" for d, a in zip(args.ema, averages))
    shown = json.dumps({k: v for k, v in kwargs.items() if k != "likelihood"})
    wn = (", weight norm" if args.weight_norm else "") + (f", clip {args.clip_grad:g}" if args.clip_grad != 1.0 else "")
    wn += "" if args.schedule == "constant" and not args.warmup else f", {args.schedule} warm-up {args.warmup:g}"
    wn += ", hard clamp" if args.log_scale_clamp == "hard" else ""
    wn += ", mixed precision" if args.mixed_precision else ""
    wn += ", marginal bias" if args.marginal_bias else ""
    print(f"| {name} {shown}{wn} | lr {lr:g}, seed {args.seed} | {params:,} | {seen / spent:.1f} | {bpd:.3f}{ema} |", flush=True)
    return bpd


def recommended_precision(name: str, kwargs: dict[str, Any], args: argparse.Namespace) -> bool:
    """Whether the recommended run trains in bfloat16 here: ``timing.choose_precision`` on a copy of its
    model and one batch of the protocol's size, at the run's thread count. Prints the decision."""
    images = data.load_dataset(data.EMBEDDED, "train", levels=256).images[: args.batch_size]
    model = models.MODELS[name](**{"in_channels": 1, "levels": 256, **kwargs})  # measure() seeds its own
    choice = timing.choose_precision(model, images)
    print(f"precision: {choice}", flush=True)
    return choice.bfloat16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(models.MODELS), default=None, help="default: the recommended configuration")
    parser.add_argument("--kwargs", type=json.loads, default={}, help="constructor arguments as JSON")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-3; the recommended one's own)")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-grad", type=float, default=1.0, help="gradient-norm clipping (the protocol: 1.0)")
    parser.add_argument("--weight-norm", action="store_true", help="weight-normalise every convolution")
    parser.add_argument("--schedule", choices=recipe.SCHEDULES, default="constant", help="learning-rate decay over the budget")
    parser.add_argument("--warmup", type=float, default=0.0, help="fraction of the budget with a linear warm-up")
    parser.add_argument("--ema", type=float, nargs="*", default=[], help="also evaluate EMA weights with these decays")
    parser.add_argument("--log-scale-clamp", choices=("smooth", "hard"), default="smooth", help="PixelCNN++: the package's bound or the reference's")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None,
                        help="train the network in bfloat16 under torch.autocast, as fit(mixed_precision=True) (default: off; "
                             "the recommended run measures which precision is faster here)")
    parser.add_argument("--marginal-bias", action="store_true", help="start the output bias at the training images' level histogram, as fit(marginal_bias=True)")
    parser.add_argument("--table", action="store_true", help="run the package's main configurations")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.seconds:g} s of training per model, "
          f"batch {args.batch_size}, 256 levels, embedded digits (4,500 train / 500 held out)")
    recommended = args.model is None and not args.table
    if recommended and args.mixed_precision is None:
        args.mixed_precision = recommended_precision(*RECOMMENDED[:2], args)
    args.mixed_precision = bool(args.mixed_precision)
    print("| model | lr | parameters | training images/s | held-out bits/dim |\n| --- | --- | --- | --- | --- |")
    if args.table:
        for name, kwargs, lr in TABLE:
            measure(name, kwargs, lr, args)
        return
    if recommended:
        name, kwargs, lr = RECOMMENDED
        bpd = measure(name, kwargs, args.lr or lr, args)
        print(f"time-to-quality: {bpd:.3f} bits/dim held out after {args.seconds:g} s")
        return
    measure(args.model, args.kwargs, args.lr or 1e-3, args)


if __name__ == "__main__":
    main()
