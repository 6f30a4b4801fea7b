"""The gpu profile's training budget per notebook, from FLOP counts: what docs/gpu.md is designed from.

    python benchmarks/gpu_budget.py [--t4 5] [--h100 50]

For every model a notebook trains in the gpu profile, one training pass (forward and backward of the
loss) is counted per image by ``reproduce.flops_per_image`` (``torch.utils.flop_counter.FlopCounterMode``
on the CPU); times the images the notebook trains it on (epochs x training images) it gives the
notebook's training FLOP. The times are *estimates*: FLOP divided by the assumed sustained rates of
``reproduce.THROUGHPUT``, not measurements; evaluation, sampling and start-up come on top. Full MNIST has 60,000 training images, CIFAR-10 50,000.
"""

from __future__ import annotations

import argparse

import torch

from pixelcnn_edu import ablation, layers, models, profiles, reproduce
from pixelcnn_edu.likelihoods import Categorical, DiscretizedLogisticMixture

SIZES = {name: shape for name, (shape, _) in reproduce.DATASET_SIZES.items()}  # (C, H, W)
TRAIN_IMAGES = {name: n_train for name, (_, (n_train, _)) in reproduce.DATASET_SIZES.items()}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def runs(p: profiles.Profile) -> dict[str, list[tuple[str, torch.nn.Module, str, int]]]:
    """notebook -> [(run, model, dataset, images trained on)] in the gpu profile."""
    limit = lambda name: min(p.train_limit or TRAIN_IMAGES[name], TRAIN_IMAGES[name])  # noqa: E731
    n, e = limit(p.dataset), p.epochs
    pixelcnn = lambda levels=2, channels=1: models.PixelCNN(channels, levels, hidden=p.hidden, n_layers=p.n_layers, kernel_size=p.kernel_size)  # noqa: E731
    gated = lambda levels=2, **kw: models.GatedPixelCNN(1, levels, hidden=p.gated_hidden, n_layers=p.gated_layers, kernel_size=p.kernel_size, **kw)  # noqa: E731
    cheat = pixelcnn()
    cheat.input_conv = layers.MaskedConv2d(1, p.hidden, kernel_size=7, mask_type="B")
    b = ablation.budget_for(p)
    study = min(b.train_limit or TRAIN_IMAGES[b.dataset], TRAIN_IMAGES[b.dataset])
    mix = min(p.mixture_train_limit or TRAIN_IMAGES[p.dataset], TRAIN_IMAGES[p.dataset])
    mix_colour = min(p.mixture_train_limit or TRAIN_IMAGES[p.color_dataset], TRAIN_IMAGES[p.color_dataset])
    g = gated()
    hidden = min(range(4, 257, 4), key=lambda d: abs(n_params(models.PixelTransformer(1, 2, hidden=d, n_layers=p.transformer_layers, n_heads=4)) - n_params(g)))
    return {
        "01": [("MADE", models.MADE(1, 2, image_size=(28, 28), hidden=p.made_hidden, n_layers=p.made_layers), p.dataset, p.made_epochs * n)],
        "02": [("PixelCNN", pixelcnn(), p.dataset, (e + 1) * n), ("cheating PixelCNN", cheat, p.dataset, n)],
        "02b": [(f"residual study, {v}, 3 seeds", ablation.build_variant(ablation.STUDIES["residual"], v, b, 1, 2), b.dataset, 3 * b.epochs * study)
                for v in ("residual", "no residual")],
        "03": [(f"PixelCNN, {name}", models.PixelCNN(3, p.color_levels, hidden=p.hidden, n_layers=p.n_layers, kernel_size=p.kernel_size, color_groups=groups),
                p.color_dataset, p.color_epochs * limit(p.color_dataset)) for name, groups in (("independent", 1), ("R->G->B", None))],
        "04": [("PixelCNN", pixelcnn(), p.dataset, (e + 1) * n), ("Gated", gated(), p.dataset, (e + 1) * n),
               ("Gated, conditional", gated(n_classes=10), p.dataset, (e + 1) * n)],
        "05": [("Gated, softmax 256", gated(256, likelihood=Categorical(256)), p.dataset, e * mix),
               ("Gated, mixture of 5", gated(256, likelihood=DiscretizedLogisticMixture(5, 256)), p.dataset, e * mix),
               ("PixelCNN++", models.PixelCNNPlusPlus(3, 256, hidden=p.pp_hidden, n_layers=p.pp_layers, n_mix=10), p.color_dataset, e * mix_colour)],
        "06": [],
        "07": [("PixelCNN", pixelcnn(), p.dataset, p.race_train), ("Gated", g, p.dataset, p.race_train),
               (f"transformer hidden {hidden} x {p.transformer_layers}", models.PixelTransformer(1, 2, hidden=hidden, n_layers=p.transformer_layers, n_heads=4),
                p.dataset, p.race_train),
               ("Gated, 256 levels", gated(256), p.dataset, p.race_train_256),
               ("transformer, 256 levels", models.PixelTransformer(1, 256, hidden=hidden, n_layers=p.transformer_layers, n_heads=4), p.dataset, p.race_train_256)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--t4", type=float, default=reproduce.THROUGHPUT["T4"] / 1e12, help="assumed sustained TFLOP/s of a T4")
    parser.add_argument("--h100", type=float, default=reproduce.THROUGHPUT["H100"] / 1e12, help="assumed sustained TFLOP/s of an H100")
    args = parser.parse_args()
    p = profiles.get_profile(args.profile)
    print(f"profile {p.name}; estimates at {args.t4:g} TFLOP/s (T4) and {args.h100:g} TFLOP/s (H100)\n")
    print("| notebook | model trained | parameters | GFLOP per image | images | PFLOP |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals = {}
    for notebook, items in runs(p).items():
        totals[notebook] = 0.0
        for name, model, dataset, images in items:
            flop = reproduce.flops_per_image(model, SIZES[dataset])[0]
            totals[notebook] += flop * images
            print(f"| {notebook} | {name} ({dataset}) | {n_params(model):,} | {flop / 1e9:.2f} | {images:,} | {flop * images / 1e15:.3f} |")
    print("\n| notebook | training PFLOP | T4 minutes (estimate) | H100 seconds (estimate) |")
    print("| --- | --- | --- | --- |")
    for notebook, flop in totals.items():
        print(f"| {notebook} | {flop / 1e15:.3f} | {flop / (args.t4 * 1e12) / 60:.1f} | {flop / (args.h100 * 1e12):.0f} |")


if __name__ == "__main__":
    main()
