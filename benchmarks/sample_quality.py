"""Sample quality of the shipped models, judged by the package's digit classifier.

    python benchmarks/sample_quality.py [--per-class 10] [--checkpoints gated_conditional_mnist ...]
    python benchmarks/sample_quality.py --train-classifier   # retrain and rewrite the shipped weights first
    python benchmarks/sample_quality.py --checkpoints runs/gpu/*.pt --device cuda --save-samples runs/gpu

For every class-conditional checkpoint: the fraction of its samples classified as the digit they
were asked for and the mean classifier confidence; for unconditional ones the confidence only. The
held-out digits themselves, at each checkpoint's levels and colours, are the ceiling to compare
with. Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pixelcnn_edu import checkpoints, data, sample_quality, train


def real_digits(levels: int, colour: bool) -> data.ImageDataset:
    """The held-out digits as a checkpoint of ``levels`` levels and this colouring sees them."""
    return data.load_dataset(data.COLORED if colour else data.EMBEDDED, "test", levels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=10, help="samples per digit (default 10: 100 per model)")
    parser.add_argument("--checkpoints", nargs="*", default=None, help="shipped checkpoint names or .pt files (default: all shipped)")
    parser.add_argument("--device", default="cpu", help="where the models sample (the classifier stays on the CPU)")
    parser.add_argument("--save-samples", type=Path, default=None, help="folder for each model's samples (<name>.samples.pt)")
    parser.add_argument("--train-classifier", action="store_true", help="retrain the classifier and overwrite its shipped weights")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1: the model's own distribution)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.train_classifier:
        start = time.perf_counter()
        classifier = sample_quality.train_classifier(data.load_dataset(data.EMBEDDED, "train", 256), seed=args.seed)
        sample_quality.WEIGHTS.parent.mkdir(exist_ok=True)
        torch.save(classifier.state_dict(), sample_quality.WEIGHTS)
        print(f"trained the digit classifier in {time.perf_counter() - start:.0f} s -> {sample_quality.WEIGHTS}")
    classifier = sample_quality.load_classifier()
    for colour in (False, True):
        held_out = real_digits(256, colour)
        accuracy = sample_quality.judge(classifier, held_out.images, held_out.labels)
        print(f"held-out {'coloured' if colour else 'grey'} digits (256 levels): {accuracy}")
    names = args.checkpoints or sorted(p.stem for p in checkpoints.BUNDLED_DIR.glob("*.pt"))
    print("| checkpoint | params | levels | test bits/dim | asked digit | confidence | real digits: asked / confidence | sampling s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        path = Path(name) if name.endswith(".pt") else train.bundled_checkpoint(name)
        model, state = train.load_model(path)
        model.to(args.device)
        name = path.stem
        held_out = real_digits(model.levels, model.in_channels == 3)
        if model.levels == 2:  # binarised checkpoints see binarised digits
            held_out = data.ImageDataset(data.binarize(held_out.images), held_out.labels, 2, held_out.name)
        ceiling = sample_quality.judge(classifier, held_out.images, held_out.labels)
        start = time.perf_counter()
        quality, samples = sample_quality.sample_quality(model, classifier, per_class=args.per_class, seed=args.seed,
                                                            temperature=args.temperature)
        seconds = time.perf_counter() - start
        if args.save_samples is not None:
            args.save_samples.mkdir(parents=True, exist_ok=True)
            torch.save(samples.cpu(), args.save_samples / f"{name}.samples.pt")
        asked = "—" if quality.asked_fraction is None else f"{100 * quality.asked_fraction:.0f}%"
        bpd = state["history"]["test_bpd"][-1] if state["history"]["test_bpd"] else float("nan")
        params = sum(p.numel() for p in model.parameters())
        print(f"| {name} | {params:,} | {model.levels} | {bpd:.3f} | {asked} | {quality.mean_confidence:.3f} | "
              f"{100 * ceiling.asked_fraction:.0f}% / {ceiling.mean_confidence:.3f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
