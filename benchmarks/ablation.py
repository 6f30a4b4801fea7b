"""The lab report's ablations, rerun: layer norm, depth, residual connections, colour groups.

    python benchmarks/ablation.py                       # every study, quick profile, 3 seeds
    python benchmarks/ablation.py --study residual --seeds 5
    python benchmarks/ablation.py --profile full        # full MNIST, CelebA 32x32 (or, loudly, coloured digits)

Each study trains every variant from the same seeds at the same budget (``pixelcnn_edu.ablation``)
and prints a Markdown table: test bits/dim, mean ± standard deviation over the seeds, each seed,
and the report's figure where it has one, then each variant's difference from the first with its
standard error. Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from pixelcnn_edu import ablation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=[*ablation.STUDIES, "all"], default="all")
    parser.add_argument("--profile", choices=["quick", "gpu"], default="quick",
                        help="quick: the embedded digits, minutes on two cores; gpu: MNIST and CelebA at the gpu profile's budget")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    budget = ablation.QUICK if args.profile == "quick" else ablation.GPU
    if args.epochs is not None:
        budget = dataclasses.replace(budget, epochs=args.epochs)
    print(f"{ablation.REPORT}; budget per run: {budget}")
    for name in ablation.STUDIES if args.study == "all" else [args.study]:
        start = time.perf_counter()
        result = ablation.run_study(name, seeds=range(args.seeds), budget=budget, device=args.device)
        print(f"\n{result.table()}\n")
        first, *others = result.scores
        for other in others:
            diff, error = ablation.difference(result, other, first)
            n = len(result.seeds)
            verdict = "beyond the noise" if ablation.beyond_noise(diff, error, n) else "not established"
            print(f"{other} - {first}: {diff:+.4f} ± {error:.4f} bits/dim, paired over {n} seeds: {verdict}")
        print(f"({time.perf_counter() - start:.0f} s)\n")


if __name__ == "__main__":
    main()
