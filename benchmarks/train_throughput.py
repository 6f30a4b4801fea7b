"""Training throughput (images/s) and sampling time of the PixelCNN and Gated PixelCNN configurations the course uses.

    python benchmarks/train_throughput.py [--device cuda] [--steps 20]

Measures forward + backward + Adam step on binarised 28x28 digits, after two warm-up steps,
and the time to sample a batch. Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import time

import torch

from pixelcnn_edu import data, likelihoods, models, profiles, sampling

CONFIGS = {
    "quick profile": (models.PixelCNN, dict(hidden=32, n_layers=4, kernel_size=3)),
    "shipped checkpoint": (models.PixelCNN, dict(hidden=48, n_layers=5, kernel_size=3, dilations=[1, 2, 1, 3, 1])),
    "seed 000 size": (models.PixelCNN, dict(hidden=64, n_layers=5, kernel_size=7)),
    "gated, quick profile": (models.GatedPixelCNN, dict(hidden=12, n_layers=4, kernel_size=3)),
    "gated, shipped": (models.GatedPixelCNN, dict(hidden=16, n_layers=6, kernel_size=3, dilations=[1, 2, 1, 3, 1, 2])),
}


def images_per_second(model: torch.nn.Module, x: torch.Tensor, steps: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for k in range(steps + 2):
        if k == 2:  # after warm-up
            if x.is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss = likelihoods.bits_per_dim(model.log_prob(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if x.is_cuda:
        torch.cuda.synchronize()
    return steps * x.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sample-n", type=int, default=16)
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else profiles.default_device()
    x = data.load_dataset("mnist-embedded", "train", levels=2).images[: args.batch_size].to(device)
    print(f"device {device.type}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    for name, (cls, config) in CONFIGS.items():
        torch.manual_seed(0)
        model = cls(levels=2, **config).to(device)
        n_params = sum(p.numel() for p in model.parameters())
        ips = images_per_second(model, x, args.steps)
        start = time.perf_counter()
        sampling.sample(model, args.sample_n, (28, 28), generator=torch.Generator(device=device).manual_seed(0))
        sample_s = time.perf_counter() - start
        print(f"{name:20s} {n_params:8,d} params  train {ips:7.1f} images/s  sample {args.sample_n} images in {sample_s:6.1f} s")


if __name__ == "__main__":
    main()
