"""Train several CLI configurations side by side on one GPU within a wall-clock budget.

Every run is a command of the project's own CLI (``python -m pixelcnn_edu train ...``), so each
checkpoint stores the exact command that made it. The budget is shared fairly and honestly:

1. calibration: every run trains one short epoch on its first ``--calibration-images`` training
   images, all at the same time, which measures its images/s while it shares the GPU with the others;
2. each run then gets the epochs that fit in ``--seconds`` at that rate (times ``--safety``, for the
   evaluation and the save after every epoch), at most its own cap, and all runs train concurrently;
3. a run still going at the deadline gets SIGTERM, which saves its last finished batch (the CLI
   resumes it with the same command); finished runs are exported without their optimizer state.

    python benchmarks/train_on_gpu.py --seconds 420 --out runs/gpu            # all runs, on cuda
    python benchmarks/train_on_gpu.py --only gated_mnist256 --seconds 30 --device cpu --max-epochs 1

Prints, per run: the calibrated images/s, the epochs given, and the CLI's last line (test bits/dim);
``--out`` gets one exported checkpoint per run and ``train_on_gpu.log`` with every run's output.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

GREY = ["--dataset", "mnist-embedded", "--levels", "256"]
COLOUR = ["--dataset", "colored-mnist", "--conditional"]
# warm-up and cosine decay; no EMA: an average with decay 0.999 scored worse than the raw weights in
# every run of a few thousand steps (e.g. 7.26 against 2.51 bits/dim for the colour mixture model)
RECIPE = ["--batch-size", "64", "--schedule", "cosine", "--warmup", "0.05"]
SHIPPED_GATED = ["--hidden", "16", "--n-layers", "6", "--kernel-size", "3", "--dilations", "1,2,1,3,1,2"]
# a deeper gated shape: 24 maps per stack, 12 layers after the first, dilations 1, 2, 4 four times
DEEP_GATED = ["--model", "gated", "--hidden", "24", "--n-layers", "12", "--kernel-size", "3", "--dilations", "1,2,4,1,2,4,1,2,4,1,2,4"]
BINARY = ["--dataset", "mnist-embedded", "--levels", "2"]
WIDE_GATED = ["--hidden", "64", "--n-layers", "8", "--kernel-size", "3", "--dilations", "1,2,1,3,1,2,1,3"]
# the shipped 256-level colour mixture (coupled logistics, class maps)
COLOUR_MIXTURE_256 = ["--model", "gated", *COLOUR, "--levels", "256", *WIDE_GATED, "--likelihood", "logistic", "--n-mix", "10",
                      "--class-maps", "8", "--lr", "0.001", *RECIPE]

# name -> (CLI arguments without --epochs/--out/--device, most epochs worth giving it)
RUNS: dict[str, tuple[list[str], int]] = {
    # notebooks 04, 05 and 07: the sample-quality runs of docs/results.md, with more epochs than the CPU gave them
    "gated_conditional_mnist_deep": ([*DEEP_GATED, *BINARY, "--conditional", "--lr", "0.002", *RECIPE], 80),
    # notebooks 02 and 04, unconditional: 24 CPU epochs of the same gated shape gave 37% +- 5 named with confidence
    "gated_mnist_deep": ([*DEEP_GATED, *BINARY, "--lr", "0.002", *RECIPE], 80),
    "pixelcnn_mnist_deep": (["--model", "pixelcnn", *BINARY, "--hidden", "64", "--n-layers", "12", "--kernel-size", "3",
                             "--dilations", "1,2,4,1,2,4,1,2,4,1,2,4", "--lr", "0.002", *RECIPE], 120),
    # 24 CPU epochs left it underfitting (train 1.232, test 1.222 bits/dim) at 12% +- 3 named with confidence, 48 at 15% +- 4
    "gated_logistic_mnist256_deep": ([*DEEP_GATED, *GREY, "--likelihood", "logistic", "--n-mix", "5", "--lr", "0.002", *RECIPE], 120),
    "transformer_mnist": (["--model", "transformer", *BINARY, "--hidden", "64", "--n-layers", "4", "--n-heads", "4",
                           "--lr", "0.002", *RECIPE], 120),
    # notebook 05: the shipped 256-level grey shapes, softmax and mixture, with the recipe
    "gated_mnist256": (["--model", "gated", *GREY, *SHIPPED_GATED, "--lr", "0.002", *RECIPE], 40),
    "gated_logistic_mnist256": (
        ["--model", "gated", *GREY, *SHIPPED_GATED, "--likelihood", "logistic", "--n-mix", "5", "--lr", "0.002", *RECIPE], 40),
    # the gpu profile's gated model (64 maps, 8 layers) at 256 grey levels
    "gated_wide_mnist256": (["--model", "gated", *GREY, *WIDE_GATED, "--lr", "0.001", *RECIPE], 300),
    # class-conditional colour digits; --class-maps: each class bias varies over the image (a class bias the
    # same at every pixel left the label almost unused on colour digits: 14 % asked digit at 256 levels)
    # notebook 05 and issue 13: 256 levels, coupled logistic mixtures
    "gated_colored_mnist256": (COLOUR_MIXTURE_256, 300),
    # the same with the log-scale bound at -8: re-scored with it, the shipped weights gained 0.06 bits/dim (docs/results.md)
    "gated_colored_mnist256_bound8": ([*COLOUR_MIXTURE_256, "--log-scale-min", "-8"], 300),
    "gated_colored_mnist256_softmax": (
        ["--model", "gated", *COLOUR, "--levels", "256", *WIDE_GATED, "--class-maps", "8", "--lr", "0.001", *RECIPE], 300),
    "pixelcnnpp_colored_mnist256": (
        ["--model", "pixelcnn++", *COLOUR, "--levels", "256", "--hidden", "40", "--n-layers", "1", "--n-mix", "10",
         "--class-maps", "8", "--lr", "0.001", *RECIPE], 300),
    # notebook 03: 4 levels with R -> G -> B channel masks
    "pixelcnn_colored_mnist4": (
        ["--model", "pixelcnn", *COLOUR, "--levels", "4", "--hidden", "96", "--n-layers", "8", "--kernel-size", "3",
         "--dilations", "1,2,1,3,1,2,1,3", "--class-maps", "8", "--lr", "0.002", *RECIPE], 300),
    "gated_colored_mnist4": (
        ["--model", "gated", *COLOUR, "--levels", "4", "--hidden", "48", *WIDE_GATED[2:], "--class-maps", "8",
         "--lr", "0.002", *RECIPE], 300),
}


def _train(name: str, args: list[str], epochs: int, out: Path, device: str, extra: list[str] = ()) -> subprocess.Popen:
    command = [sys.executable, "-m", "pixelcnn_edu", "train", *args, "--epochs", str(epochs), "--out", str(out),
               "--device", device, "--no-progress", *extra]
    log = open(out.with_suffix(".log"), "w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _images_per_s(log: Path) -> float:
    match = re.search(r"([\d.]+) images/s", log.read_text())
    if not match:
        raise RuntimeError(f"calibration of {log.stem} printed no images/s:\n{log.read_text()[-2000:]}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=420.0, help="wall-clock training budget after calibration")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu"), help="folder for the exported checkpoints")
    parser.add_argument("--work", type=Path, default=Path("runs/gpu-work"), help="folder for the runs' own files and logs")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--only", nargs="*", default=None, help="names of runs (default: all)")
    parser.add_argument("--calibration-images", type=int, default=1280)
    parser.add_argument("--safety", type=float, default=0.7, help="fraction of the calibrated rate to plan with")
    parser.add_argument("--max-epochs", type=int, default=None, help="cap every run at this many epochs")
    opts = parser.parse_args()
    names = opts.only or list(RUNS)
    unknown = set(names) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}; known: {list(RUNS)}")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.work / "calibration").mkdir(parents=True, exist_ok=True)

    start = time.monotonic()
    calibration = {name: _train(name, RUNS[name][0], 1, opts.work / "calibration" / f"{name}.pt", opts.device,
                                ["--train-limit", str(opts.calibration_images), "--restart"]) for name in names}
    for process in calibration.values():
        process.wait()
    print(f"calibration: {time.monotonic() - start:.0f} s", flush=True)
    epochs = {}
    for name in names:
        rate = _images_per_s(opts.work / "calibration" / f"{name}.log")
        per_epoch = 4500 / (rate * opts.safety)  # the embedded training split has 4,500 images
        cap = min(RUNS[name][1], opts.max_epochs or RUNS[name][1])
        epochs[name] = max(1, min(cap, int(opts.seconds / per_epoch)))
        print(f"{name}: {rate:.0f} images/s while sharing -> {epochs[name]} epochs", flush=True)

    deadline = time.monotonic() + opts.seconds * 1.15
    runs = {name: _train(name, RUNS[name][0], epochs[name], opts.work / f"{name}.pt", opts.device) for name in names}
    for name, process in runs.items():
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.terminate()  # SIGTERM: the CLI saves its last finished batch and exits
            process.wait()
    print(f"training: {time.monotonic() - start:.0f} s since the start", flush=True)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package, installed or not
    from pixelcnn_edu import checkpoints

    with open(opts.out / "train_on_gpu.log", "w") as combined:
        for name in names:
            checkpoint, log = opts.work / f"{name}.pt", opts.work / f"{name}.log"
            combined.write(f"== {name}\n{log.read_text()}\n")
            try:
                checkpoints.export_checkpoint(checkpoint, opts.out / f"{name}.pt")
                status = "exported"
            except (ValueError, OSError) as err:  # stopped mid-epoch: the resumable file stays in --work
                status = f"not exported ({err})"
            print(f"{name}: {status}; {_last_line(log)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
