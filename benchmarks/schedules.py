"""A constant learning rate against warm-up + cosine decay at the notebooks' short budgets.

    python benchmarks/schedules.py [--configs pixelcnn-binary gated-binary ...] [--seeds 0 1] [--threads 2]

Each configuration is a small model of the notebooks, trained with ``train.fit`` for a fixed number
of epochs (batch 64) three ways: a constant lr 2e-3, a 5 % warm-up then a cosine decay at the same
peak, and the same schedule with the peak doubled. Prints one line per run with the test bits/dim;
``docs/recipe.md`` records the figures and the choice they led to. It is not a test.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import torch

from pixelcnn_edu import data, models, train
from pixelcnn_edu.likelihoods import DiscretizedLogisticMixture

# name -> (model factory, (dataset, levels, first N training images or None), epochs)
CONFIGS: dict[str, tuple[Callable[[], torch.nn.Module], tuple[str, int, int | None], int]] = {
    "pixelcnn-binary": (lambda: models.PixelCNN(1, 2, hidden=32, n_layers=4), (data.EMBEDDED, 2, None), 3),
    "gated-binary": (lambda: models.GatedPixelCNN(1, 2, hidden=12, n_layers=4), (data.EMBEDDED, 2, None), 3),
    "pixelcnn-colour-4": (
        lambda: models.PixelCNN(3, 4, hidden=32, n_layers=4, color_groups=3), (data.COLORED, 4, None), 5
    ),
    "gated-mixture-256": (
        lambda: models.GatedPixelCNN(1, 256, hidden=12, n_layers=4, likelihood=DiscretizedLogisticMixture(5, 256)),
        (data.EMBEDDED, 256, 1500),
        2,
    ),
}
LR = 2e-3
VARIANTS: dict[str, dict[str, Any]] = {
    "constant": dict(lr=LR),
    "cosine": dict(lr=LR, schedule="cosine", warmup=0.05),
    "cosine, peak x2": dict(lr=2 * LR, schedule="cosine", warmup=0.05),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 64")
    print("| model | schedule | seed | epochs | test bits/dim | seconds |\n| --- | --- | --- | --- | --- | --- |")
    for name in args.configs:
        make, (dataset, levels, limit), epochs = CONFIGS[name]
        train_set = data.load_dataset(dataset, "train", levels=levels)
        test_set = data.load_dataset(dataset, "test", levels=levels)
        if limit is not None:
            train_set = train_set.subset(limit)
        for variant, kwargs in VARIANTS.items():
            for seed in args.seeds:
                torch.manual_seed(seed)
                model = make()
                start = time.perf_counter()
                history = train.fit(model, train_set, test_set, epochs=epochs, batch_size=64, seed=seed, progress=False, **kwargs)
                print(f"| {name} | {variant} | {seed} | {epochs} | {history.test_bpd[-1]:.4f} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
