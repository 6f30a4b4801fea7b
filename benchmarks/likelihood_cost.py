"""Output size and loss time: a 256-way softmax against PixelCNN++'s discretised logistic mixture.

    python benchmarks/likelihood_cost.py [--device cuda] [--batch-size 32] [--size 32] [--repeats 5]

For RGB images of 256 levels, prints how many output maps each likelihood needs and the time of
the loss (log_prob summed, forward and backward) on random parameters, after a warm-up, and their
ratios. Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse

import torch

from pixelcnn_edu import likelihoods, profiles
from pixelcnn_edu.timing import loss_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=32, help="image height and width")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else profiles.default_device()
    generator = torch.Generator().manual_seed(0)
    shape = (args.batch_size, 3, args.size, args.size)
    x = (torch.randint(256, shape, generator=generator).float() / 255).to(device)
    print(f"device {device.type}, {torch.get_num_threads()} threads, RGB images {shape}, 256 levels")
    results = {}
    for name, likelihood in (
        ("categorical (softmax)", likelihoods.Categorical(256)),
        ("logistic mixture, 10", likelihoods.DiscretizedLogisticMixture(10, 256)),
        ("logistic mixture, 5", likelihoods.DiscretizedLogisticMixture(5, 256)),
    ):
        maps = likelihood.param_channels(3)
        params = torch.randn(args.batch_size, maps, args.size, args.size, generator=generator).to(device)
        seconds = loss_seconds(likelihood, params, x, args.repeats)
        results[name] = (maps, seconds)
        print(f"{name:24s} {maps:4d} output maps  loss forward+backward {1000 * seconds:8.1f} ms")
    base_maps, base_s = results["categorical (softmax)"]
    for name, (maps, seconds) in list(results.items())[1:]:
        print(f"{name}: {base_maps / maps:.1f}x fewer output maps, loss {base_s / seconds:.2f}x the speed of the softmax")


if __name__ == "__main__":
    main()
