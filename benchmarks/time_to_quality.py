"""Time to quality: held-out bits/dim after a fixed CPU training budget, for any model of the package.

    python benchmarks/time_to_quality.py [--model gated --kwargs '{"hidden": 16}'] [--seconds 180] [--threads 2]
    python benchmarks/time_to_quality.py --table          # the package's main configurations, one after another

The protocol (issue 13): the embedded digits at 256 grey levels, split per class into the first 450
for training and the last 50 held out (the embedded train and test splits are exactly that), batches
of 64 drawn in a fresh random order every epoch, Adam, gradient-norm clipping at 1.0 (``--clip-grad``), trained from
scratch for ``--seconds`` of wall time (the held-out evaluation not counted), then the held-out
bits/dim. ``--weight-norm`` puts ``torch.nn.utils.parametrizations.weight_norm`` on every
convolution (an experiment: the reference PixelCNN++ code normalises every one). Without
``--model`` it runs the recommended configuration; its last line reads ``time-to-quality: X bits/dim
held out after S s``. Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from pixelcnn_edu import data, models, train
from pixelcnn_edu.likelihoods import bits_per_dim

# The best configuration of at most 1M parameters measured so far, with its learning rate.
RECOMMENDED = ("gated", dict(hidden=16, n_layers=6, dilations=[1, 2, 1, 3, 1, 2]), 2e-3)
TABLE: list[tuple[str, dict[str, Any], float]] = [
    RECOMMENDED,
    ("gated", dict(hidden=64, n_layers=8), 1e-3),
    ("pixelcnn++", dict(in_channels=1, hidden=40, n_resnet=1, n_mix=10), 1e-3),
    ("pixelcnn", dict(hidden=64, n_layers=5, dilations=[1, 2, 1, 3, 1]), 1e-3),
]


def with_weight_norm(model: nn.Module) -> nn.Module:
    """Weight-normalise every convolution (dim 0 holds the outputs of a Conv2d, dim 1 of a transposed one)."""
    for module in list(model.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            weight_norm(module, dim=1 if isinstance(module, nn.ConvTranspose2d) else 0)
    return model


def train_for(
    model: nn.Module, train_set: data.ImageDataset, seconds: float, *, lr: float, batch_size: int, seed: int, clip_grad: float
) -> tuple[int, float]:
    """Train for ``seconds`` of wall time; returns (images trained on, seconds spent)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    seen, start = 0, time.perf_counter()
    while True:
        order = torch.randperm(len(train_set), generator=generator)
        for first in range(0, len(order), batch_size):
            idx = order[first : first + batch_size]
            loss = bits_per_dim(model.log_prob(train_set.images[idx], train_set.labels[idx] if model.n_classes else None))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
            seen += len(idx)
            if time.perf_counter() - start >= seconds:
                return seen, time.perf_counter() - start


def measure(name: str, kwargs: dict[str, Any], lr: float, args: argparse.Namespace) -> float:
    train_set = data.load_dataset(data.EMBEDDED, "train", levels=256)
    held_out = data.load_dataset(data.EMBEDDED, "test", levels=256)
    torch.manual_seed(args.seed)
    model = models.MODELS[name](**{"in_channels": 1, "levels": 256, **kwargs})
    if args.weight_norm:
        with_weight_norm(model)
    params = sum(p.numel() for p in model.parameters())
    seen, spent = train_for(model, train_set, args.seconds, lr=lr, batch_size=args.batch_size, seed=args.seed, clip_grad=args.clip_grad)
    bpd = train.evaluate(model, held_out, batch_size=256)
    wn = (", weight norm" if args.weight_norm else "") + (f", clip {args.clip_grad:g}" if args.clip_grad != 1.0 else "")
    print(f"| {name} {json.dumps(kwargs)}{wn} | lr {lr:g} | {params:,} | {seen / spent:.1f} | {bpd:.3f} |", flush=True)
    return bpd


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
    parser.add_argument("--table", action="store_true", help="run the package's main configurations")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.seconds:g} s of training per model, "
          f"batch {args.batch_size}, 256 levels, embedded digits (4,500 train / 500 held out)")
    print("| model | lr | parameters | training images/s | held-out bits/dim |\n| --- | --- | --- | --- | --- |")
    if args.table:
        for name, kwargs, lr in TABLE:
            measure(name, kwargs, lr, args)
        return
    if args.model is None:
        name, kwargs, lr = RECOMMENDED
        bpd = measure(name, kwargs, args.lr or lr, args)
        print(f"time-to-quality: {bpd:.3f} bits/dim held out after {args.seconds:g} s")
        return
    measure(args.model, args.kwargs, args.lr or 1e-3, args)


if __name__ == "__main__":
    main()
