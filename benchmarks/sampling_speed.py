"""Naive against cached sampling: seconds, speed-up and agreement, measured in one run.

    python benchmarks/sampling_speed.py [--batches 1 16 64] [--naive-steps 56] [--threads 2] [--repeats 3]

For each model the cached loop draws whole 28x28 images; the naive loop (one full pass of the
network per sub-pixel) is timed over its first ``--naive-steps`` sub-pixels and scaled up to the
whole image, which is fair because every naive step is the same full pass (``--naive-steps 0``
times it whole). Each figure is the median of ``--repeats`` timings. The agreement check runs both loops side by side on 8x8 images from the same seed.
Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse

import torch

from pixelcnn_edu import models, profiles, sampling, timing, train


def course_models() -> dict[str, torch.nn.Module]:
    """The models the issue names: quick-profile PixelCNN, Gated PixelCNN and PixelCNN++, the shipped
    256-level gated model, an 840k-parameter Gated PixelCNN (the size of UvA tutorial 12's) and a pixel
    transformer of the quick Gated PixelCNN's size (16k parameters; cached = a KV cache)."""
    quick = profiles.get_profile("quick")
    torch.manual_seed(0)
    return {
        "PixelCNN, quick (binary)": models.PixelCNN(1, 2, hidden=quick.hidden, n_layers=quick.n_layers, kernel_size=quick.kernel_size),
        "Gated PixelCNN, quick (binary)": models.GatedPixelCNN(1, 2, hidden=quick.gated_hidden, n_layers=quick.gated_layers),
        "shipped gated_mnist256": train.load_model(train.bundled_checkpoint("gated_mnist256"))[0],
        "Gated PixelCNN 64x8, 256 levels": models.GatedPixelCNN(1, 256, hidden=64, n_layers=8),
        "PixelCNN++, quick (256 levels)": models.PixelCNNPlusPlus(1, 256, hidden=quick.pp_hidden, n_layers=quick.pp_layers),
        "Pixel transformer d24 x 2 (binary)": models.PixelTransformer(1, 2, hidden=24, n_layers=2, n_heads=4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--naive-steps", type=int, default=56, help="sub-pixels the naive loop is timed over (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure; the median is printed")
    parser.add_argument("--only", default=None, help="run only the models whose name contains this text")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = args.naive_steps or None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, 28x28 images; naive timed over "
          f"{'all' if steps is None else steps} sub-pixels per image and scaled to 784")
    print("| model | parameters | batch | naive s | cached s | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    agreements = []
    for name, model in course_models().items():
        if args.only and args.only not in name:
            continue
        model.eval()
        params = sum(p.numel() for p in model.parameters())
        for batch in args.batches:
            naive = timing.sampling_seconds(model, batch, (28, 28), cache=False, steps=steps, repeats=args.repeats)
            cached = timing.sampling_seconds(model, batch, (28, 28), cache=True, repeats=args.repeats)
            print(f"| {name} | {params:,} | {batch} | {naive:.2f} | {cached:.2f} | {naive / cached:.1f}x |", flush=True)
        y = None if model.n_classes is None else torch.arange(4) % model.n_classes
        agreements.append((name, sampling.agreement(model, 4, (8, 8), y=y, seed=1)))
    print("\nagreement, 4 images of 8x8, same seed:")
    for name, a in agreements:
        print(f"  {name}: {a.steps} steps, max |p_cached - p_naive| = {a.max_prob_diff:.2e}, identical draws: {a.same_values}")


if __name__ == "__main__":
    main()
