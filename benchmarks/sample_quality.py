"""Sample quality of the shipped models, judged by the package's digit classifier.

    python benchmarks/sample_quality.py [--n 100] [--checkpoints gated_conditional_mnist ...]
    python benchmarks/sample_quality.py --results docs/results.md   # also rewrite the table there
    python benchmarks/sample_quality.py --train-classifier   # retrain and rewrite the shipped weights first
    python benchmarks/sample_quality.py --checkpoints runs/gpu/*.pt --device cuda --save-samples runs/gpu
    python benchmarks/sample_quality.py --classifier old_weights.pt   # judge with other classifier weights

For every checkpoint, its bits/dim on the 500 held-out digits and ``--n`` samples at 28 x 28 from the cached sampler (a conditional model is asked
for every digit equally often): the fraction the classifier names with confidence >= 0.9, and for a
conditional model the fraction classified as the asked digit, each with its binomial standard error.
The 500 held-out digits, at each checkpoint's levels and colours, are the reference line; the same
digits with their tiles shuffled (``sample_quality.shuffle_tiles``: strokes that form no digit) the
floor. Prints one Markdown table; it is not a test.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import torch

from pixelcnn_edu import checkpoints, data, sample_quality, train

BEGIN = "<!-- sample-quality table: written by benchmarks/sample_quality.py --results -->"
END = "<!-- end of the sample-quality table -->"
HEADER = (
    "| checkpoint | parameters | levels | held-out bits/dim | samples: asked digit | samples: confidence ≥ 0.9 "
    "| held-out digits: asked / confidence ≥ 0.9 | sampling s |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def real_digits(levels: int, colour: bool) -> data.ImageDataset:
    """The held-out digits as a checkpoint of ``levels`` levels and this colouring sees them."""
    return data.load_dataset(data.COLORED if colour else data.EMBEDDED, "test", levels)


def percent(fraction: float | None, n: int) -> str:
    """'42% ± 5' for a fraction of ``n`` verdicts, with one decimal where the standard error is under
    half a point; at none or all of them, where the binomial standard error is 0, the exact one-sided 95%
    bound of ``sample_quality.fraction_text``; '—' for None."""
    if fraction is None:
        return "—"
    if not 0 < round(fraction * n) < n:
        return sample_quality.fraction_text(fraction, n)
    se = sample_quality.binomial_se(fraction, n)
    digits = 0 if 100 * se >= 0.5 else 1  # 1 of 500 is '0.2% ± 0.2', not '0% ± 0'
    return f"{100 * fraction:.{digits}f}% ± {100 * se:.{digits}f}"


def row(name: str, path: Path, classifier: sample_quality.DigitClassifier, args: argparse.Namespace) -> str:
    """One table row: the checkpoint's samples judged beside its held-out digits."""
    model, state = train.load_model(path)
    model.to(args.device)
    held_out = real_digits(model.levels, model.in_channels == 3)
    reference = sample_quality.judge(classifier, held_out.images, held_out.labels)
    start = time.perf_counter()
    quality, samples = sample_quality.sample_quality(
        model, classifier, per_class=args.n // 10, seed=args.seed, temperature=args.temperature
    )
    seconds = time.perf_counter() - start
    if args.save_samples is not None:
        args.save_samples.mkdir(parents=True, exist_ok=True)
        torch.save(samples.cpu(), args.save_samples / f"{name}.samples.pt")
    bpd = train.evaluate(model, held_out)  # on the 500 held-out digits, whatever test set the run used
    params = sum(p.numel() for p in model.parameters())
    return (
        f"| `{name}` | {params:,} | {model.levels} | {bpd:.3f} | {percent(quality.asked_fraction, quality.n)} "
        f"| {percent(quality.confident_fraction, quality.n)} "
        f"| {percent(reference.asked_fraction, reference.n)} / {percent(reference.confident_fraction, reference.n)} "
        f"| {seconds:.0f} |"
    )


def floor_line(classifier: sample_quality.DigitClassifier) -> str:
    """The classifier on strokes that form no digit: the 500 held-out digits with their 7 x 7 tiles shuffled."""
    held_out = real_digits(256, colour=False)
    shuffled = sample_quality.judge(classifier, sample_quality.shuffle_tiles(held_out.images, torch.Generator().manual_seed(0)))
    return (f"The floor: the 500 held-out digits with their 7 × 7 tiles shuffled (strokes that form no digit) are named with "
            f"confidence ≥ 0.9 in {percent(shuffled.confident_fraction, shuffled.n)}.")


def write_results(path: Path, table: str, args: argparse.Namespace) -> None:
    """Replace the table between the markers in ``path`` (a Markdown file) with ``table`` and its provenance."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} has no sample-quality markers; add the lines\n{BEGIN}\n{END}\nwhere the table goes")
    command = "python benchmarks/sample_quality.py " + " ".join(args.argv)
    if args.device.startswith("cuda"):
        machine = torch.cuda.get_device_name(torch.device(args.device))
    else:
        machine = f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    block = f"{BEGIN}\n{datetime.date.today()}, {machine}: `{command.strip()}`.\n\n{table}\n{END}"
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + block + rest.split(END, 1)[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="samples per model, a multiple of 10 (default 100)")
    parser.add_argument("--checkpoints", nargs="*", default=None, help="shipped checkpoint names or .pt files (default: all shipped)")
    parser.add_argument("--device", default="cpu", help="where the models sample (the classifier stays on the CPU)")
    parser.add_argument("--save-samples", type=Path, default=None, help="folder for each model's samples (<name>.samples.pt)")
    parser.add_argument("--results", type=Path, default=None, help="a Markdown file whose sample-quality table to rewrite")
    parser.add_argument("--train-classifier", action="store_true", help="retrain the classifier and overwrite its shipped weights")
    parser.add_argument("--classifier", type=Path, default=sample_quality.WEIGHTS,
                        help="digit classifier weights to judge with (default: the shipped ones)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1: the model's own distribution)")
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.n < 10 or args.n % 10:
        parser.error(f"--n must be a multiple of 10 (every digit asked equally often), got {args.n}")
    torch.set_num_threads(args.threads)
    if args.train_classifier and args.classifier != sample_quality.WEIGHTS:
        parser.error("--train-classifier rewrites the shipped weights and judges with them; leave out --classifier")
    if args.train_classifier:
        start = time.perf_counter()
        classifier = sample_quality.train_classifier(data.load_dataset(data.EMBEDDED, "train", 256), seed=args.seed)
        sample_quality.WEIGHTS.parent.mkdir(exist_ok=True)
        torch.save(classifier.state_dict(), sample_quality.WEIGHTS)
        print(f"trained the digit classifier in {time.perf_counter() - start:.0f} s -> {sample_quality.WEIGHTS}")
    classifier = sample_quality.load_classifier(args.classifier)
    names = args.checkpoints or sorted(p.stem for p in checkpoints.BUNDLED_DIR.glob("*.pt"))
    print(HEADER)
    rows = []
    for name in names:
        path = Path(name) if name.endswith(".pt") else train.bundled_checkpoint(name)
        rows.append(row(path.stem, path, classifier, args))
        print(rows[-1], flush=True)
    print(floor := floor_line(classifier))
    if args.results is not None:
        write_results(args.results, HEADER + "\n" + "\n".join(rows) + "\n\n" + floor, args)
        print(f"wrote the table to {args.results}")


if __name__ == "__main__":
    main()
