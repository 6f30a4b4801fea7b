"""Each paper-scale recipe's measured training pass on this device, and the epoch and run it implies.

    python benchmarks/recipe_step_time.py [--device cuda] [--repeats 5] [--batch N]

Builds every recipe's model (``pixelcnn_edu.reproduce``), times one training pass (forward and
backward of the loss, ``timing.step_seconds``, median after a warm-up) on a random batch of the
recipe's batch size and image shape, and prints images/s, the seconds an epoch of the recipe's
training images would take at that rate, the whole run's hours, and the rate against the FLOP-based
estimate that ``reproduce --list`` prints. Needs no dataset: it measures speed, not bits/dim. The
optimizer's update and the test pass are left out, so a real epoch takes somewhat longer.
"""

from __future__ import annotations

import argparse

import torch

from pixelcnn_edu import reproduce, timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per recipe (default 5)")
    parser.add_argument("--batch", type=int, default=None, help="batch size instead of each recipe's (e.g. 2 on a CPU)")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print("| recipe | batch | s per pass | images/s | epoch (min) | run (h) | achieved TFLOP/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, recipe in reproduce.RECIPES.items():
        model = reproduce.build_model(recipe).to(device)
        batch = args.batch or int(recipe.train["batch-size"])
        generator = torch.Generator().manual_seed(0)
        levels = int(recipe.train["levels"])
        x = (torch.randint(levels, (batch, *recipe.shape), generator=generator).float() / (levels - 1)).to(device)
        y = torch.zeros(batch, dtype=torch.long, device=device) if model.n_classes else None
        seconds = timing.step_seconds(model, x, y, repeats=args.repeats)
        per_s = batch / seconds
        epoch_s = recipe.n_train / per_s
        train_flop = reproduce.cost(recipe).train_flop
        print(f"| {name} | {batch} | {seconds:.3f} | {per_s:,.0f} | {epoch_s / 60:.1f} | {epoch_s * recipe.epochs / 3600:.1f} | "
              f"{train_flop * per_s / 1e12:.1f} |")
        del model, x


if __name__ == "__main__":
    main()
