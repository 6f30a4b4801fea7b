"""Paper-scale runs as recipes: ``python -m pixelcnn_edu reproduce NAME`` (``--list``, ``--dry-run``).

A recipe is one documented training run: its data, the ``train`` options that build its model and
train it (plus the few constructor arguments no option sets), the published figure it is compared
with and where that figure comes from, and what differs from the source's own setup. The run goes
through ``cli.cmd_train`` and ``train.fit``, so it checkpoints as every training run does: Ctrl-C or
SIGTERM saves, and the same command continues from the last finished batch.

FLOP counts are computed from the model (``torch.utils.flop_counter.FlopCounterMode``, a batch of one
on the CPU; convolutions and matrix multiplies, not element-wise work). Times are estimates from those
counts at an assumed sustained throughput (``THROUGHPUT``), never measurements.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from . import data, models
from .likelihoods import bits_per_dim

# Assumed sustained float32 throughput, FLOP/s (not measured): about 75% of an H100 SXM's 67 TFLOP/s
# and 60% of a T4's 8.1 TFLOP/s. Small models run far below this, so their times are lower bounds.
THROUGHPUT = {"H100": 50e12, "T4": 5e12}
BINARIZATION_SEEDS = {"train": 0, "test": 1}  # one fixed Bernoulli draw per split


@dataclass(frozen=True)
class Published:
    value: str  # as published, e.g. "81.30"
    metric: str  # "bits/dim" or "nats/image" (test set)
    source: str  # author(s), title
    note: str = ""

    def __str__(self) -> str:
        return f"{self.value} {self.metric}"


@dataclass(frozen=True)
class Recipe:
    """One run: ``train`` holds ``python -m pixelcnn_edu train`` options (True for a flag),
    ``model_overrides`` constructor arguments that no option sets; ``binarize`` draws one seeded
    Bernoulli binarisation of the grey images; ``differences`` from the source's own setup."""

    name: str
    summary: str
    train: dict[str, Any]
    published: Published
    differences: tuple[str, ...]
    model_overrides: dict[str, Any] = field(default_factory=dict)
    binarize: bool = False

    @property
    def dataset(self) -> str:
        return self.train["dataset"]

    @property
    def shape(self) -> tuple[int, int, int]:
        return DATASET_SIZES[self.dataset][0]

    @property
    def sizes(self) -> tuple[int, int]:
        return DATASET_SIZES[self.dataset][1]

    @property
    def epochs(self) -> int:
        return int(self.train["epochs"])

    @property
    def n_train(self) -> int:
        return min(int(self.train.get("train-limit", self.sizes[0])), self.sizes[0])


DATASET_SIZES = {"mnist": ((1, 28, 28), (60_000, 10_000)), "cifar10": ((3, 32, 32), (50_000, 10_000))}  # (C, H, W), (train, test)
_BERNOULLI = ("data: one seeded Bernoulli draw of each grey digit (train seed 0, test seed 1), like Salakhutdinov & Murray's "
              "file but other random numbers; the train command's --levels 2 thresholds at 0.5, which is not comparable")
_PIXELRNN = "van den Oord, Kalchbrenner & Kavukcuoglu (2016), 'Pixel Recurrent Neural Networks'"
_MNIST_RUN = {"kernel-size": 3, "lr": 1e-3, "schedule": "cosine", "clip-grad": 0, "train-limit": 50_000, "seed": 0}

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe(
        "uva-gated-mnist256", "UvA DL tutorial 12's gated PixelCNN: full MNIST, 256 levels",
        train={"model": "gated", "dataset": "mnist", "levels": 256, "hidden": 64, "n-layers": 7, "input-kernel-size": 3,
               "dilations": "1,2,1,4,1,2,1", "epochs": 150, "batch-size": 128, **_MNIST_RUN},
        model_overrides={"skips": False, "skip_channels": 64},
        published=Published("0.808", "bits/dim", "Phillip Lippe, UvA Deep Learning Tutorials, 'Tutorial 12: Autoregressive Image Modeling'"),
        differences=(
            "first layer: a gated block with mask A (gate, v->h link, 1x1 out) where UvA has two plain masked convolutions",
            "head: ReLU, 1x1 64->64, ReLU, 1x1 64->256 (skips=False, skip_channels=64) where UvA has ELU and one 1x1 64->256",
            "kernels cropped to the taps they use (2x3, 1x2): 647,488 parameters against UvA's 852,160 (a third masked zeros)",
            "learning rate: cosine from 1e-3 to 0 where UvA multiplies it by 0.99 after each epoch (fit has no such decay)",
            "data: the first 50,000 digits, last epoch's test score; UvA: a random 50,000, the epoch best on the other 10,000",
        ),
    ),
    Recipe(
        "pixelcnn-binarized-mnist", "PixelCNN on stochastically binarised MNIST", binarize=True,
        train={"model": "pixelcnn", "dataset": "mnist", "levels": 2, "hidden": 32, "n-layers": 15, "input-kernel-size": 7,
               "epochs": 457, "batch-size": 256, **_MNIST_RUN},
        published=Published("81.30", "nats/image", _PIXELRNN, "its binarised-MNIST table, PixelCNN row"),
        differences=(
            _BERNOULLI,
            "size: the paper's blocks at pytorch-generative's sizes (15 blocks, h = 16); the paper's own could not be checked",
            "optimiser: Adam, batch 256, cosine over 457 epochs (pytorch-generative: x0.999977 per step); the paper: RMSProp",
            "model selection: the paper's validation set chose the model; here the last epoch's test score is reported",
        ),
    ),
    Recipe(
        "gated-binarized-mnist", "Gated PixelCNN on stochastically binarised MNIST", binarize=True,
        train={"model": "gated", "dataset": "mnist", "levels": 2, "hidden": 128, "n-layers": 10, "input-kernel-size": 7,
               "epochs": 150, "batch-size": 128, **_MNIST_RUN},
        model_overrides={"skip_channels": 128},
        published=Published(
            "81.50", "nats/image", "Eugen Hotaj, pytorch-generative (GitHub README, 'Our Results')",
            "a reimplementation's own result on a binarisation redrawn every epoch, 'may be optimistic'; the Gated PixelCNN "
            "paper reports no binarised-MNIST figure; PixelRNN's PixelCNN: 81.30",
        ),
        differences=(
            _BERNOULLI + "; the 81.50 run redrew it every epoch",
            "layers: cropped 2x3 / 1x2 stack kernels and a 128-map head where pytorch-generative factorises the vertical "
            "stack (1x3, 2x1, plus a 1x1) and narrows its head to 32 maps",
            "learning rate: cosine over 150 epochs where pytorch-generative multiplies it by 0.9999 per step for 457 epochs",
        ),
    ),
    Recipe(
        "pixelcnn++-cifar10", "PixelCNN++ on CIFAR-10 at the paper's size",
        train={"model": "pixelcnn++", "dataset": "cifar10", "levels": 256, "hidden": 160, "n-layers": 5, "n-mix": 10,
               "dropout": 0.5, "epochs": 500, "batch-size": 96, "lr": 1e-3, "schedule": "cosine", "ema": 0.9995,
               "clip-grad": 0, "seed": 0},
        published=Published(
            "2.92", "bits/dim", "Salimans, Karpathy, Chen & Kingma (2017), 'PixelCNN++: Improving the PixelCNN with "
            "Discretized Logistic Mixture Likelihood and Other Modifications'", "pclucas14's PyTorch port: 2.95",
        ),
        differences=(
            "learning rate: cosine to 0 over 500 epochs where the reference multiplies 1e-3 by 0.999995 every step",
            "Adam's moment decays: PyTorch's 0.9 and 0.999 where the reference uses 0.95 and 0.9995",
            "no weight normalisation or data-dependent initialisation; a smooth log-scale bound, not a hard clamp at -7",
            "batch 96 (the reference's 12 per GPU x 8 GPUs) in one process",
        ),
    ),
)}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)} (python -m pixelcnn_edu reproduce --list)")
    return RECIPES[name]


# --- data ---------------------------------------------------------------------------------------


def binarized(grey: data.ImageDataset, seed: int) -> data.ImageDataset:
    """``grey`` drawn once with :func:`data.stochastic_binarize` from a generator seeded with ``seed``."""
    images = data.stochastic_binarize(grey.images, torch.Generator().manual_seed(seed))
    return data.ImageDataset(images, grey.labels, 2, f"{grey.name}-bernoulli-seed{seed}")


def _load_split(name: str, split: str, levels: int, root: str | Path) -> data.ImageDataset:
    return data.load_dataset(name, split, levels, root=root, fallback=False)  # never the embedded digits


def load_data(recipe: Recipe, root: str | Path = "data") -> tuple[data.ImageDataset, data.ImageDataset]:
    """The recipe's (train, test) sets: the whole dataset, from ``root`` or downloaded, else a
    :class:`data.DatasetUnavailable` that says so."""
    levels = 256 if recipe.binarize else int(recipe.train["levels"])
    try:
        train, test = (_load_split(recipe.dataset, split, levels, root) for split in ("train", "test"))
    except data.DatasetUnavailable as err:
        raise data.DatasetUnavailable(
            f"recipe {recipe.name} needs the full {recipe.dataset} dataset: {' '.join(str(err).split())}. Put "
            f"torchvision's files under {Path(root).resolve()} (--data-root) or run where they can be downloaded; a "
            f"recipe never falls back to the embedded 5,000 digits"
        ) from err
    if recipe.binarize:
        train, test = (binarized(ds, BINARIZATION_SEEDS[split]) for ds, split in ((train, "train"), (test, "test")))
    return train, test


# --- the train command, the model, its cost -----------------------------------------------------


def train_argv(recipe: Recipe, out: str | Path, **changes: Any) -> list[str]:
    """The ``train`` arguments of this run: the recipe's options with ``changes`` (e.g.
    ``epochs=1``, ``device="cuda"``, ``restart=True`` for a flag; None or False changes nothing), then ``--out``."""
    argv: list[str] = []
    changed = {k.replace("_", "-"): v for k, v in changes.items() if v is not None and v is not False}
    for option, value in {**recipe.train, **changed}.items():
        if value is True:
            argv.append(f"--{option}")
        else:
            argv += [f"--{option}", f"{value:g}" if isinstance(value, float) else str(value)]
    return argv + ["--out", str(out)]


def build_model(recipe: Recipe) -> models.AutoregressiveModel:
    """The recipe's model (untrained, on the CPU), built by the train command's own code."""
    from . import cli, profiles  # cli imports this module

    args = cli._parser().parse_args(["train", *train_argv(recipe, "unused.pt")])
    c, h, w = recipe.shape
    stand_in = data.ImageDataset(torch.zeros(1, c, h, w), torch.zeros(1, dtype=torch.long), args.levels, recipe.dataset)
    model = cli._build_model(args, profiles.get_profile(args.profile), args.levels, stand_in)
    if recipe.model_overrides:
        model = models.from_config(models.model_name(model), {**model.config(), **recipe.model_overrides})
    return model


def flops_per_image(model: models.AutoregressiveModel, shape: tuple[int, int, int]) -> tuple[int, int]:
    """(training, evaluation) FLOP of one image: forward + backward of the bits/dim loss, and the
    forward pass alone (what a test image costs; dropout does no counted work). Counted by
    FlopCounterMode on a batch of one on the CPU (convolutions and matrix multiplies, attention's
    included); ``model``
    must be on the CPU. Its gradients are left at None."""
    x = torch.zeros(1, *shape)  # a black image: the values do not change the count
    y = torch.zeros(1, dtype=torch.long) if model.n_classes else None  # class 0 for a conditional model
    # dropout draws must not move the caller's RNG; attention through its plain matrix products, which
    # the counter sees (it has no formula for the CPU's fused attention kernels)
    with torch.random.fork_rng(devices=[]), sdpa_kernel(SDPBackend.MATH):
        with FlopCounterMode(display=False) as forward:
            loss = bits_per_dim(model.train().log_prob(x, y))
        with FlopCounterMode(display=False) as backward:
            loss.backward()
    model.zero_grad(set_to_none=True)
    return forward.get_total_flops() + backward.get_total_flops(), forward.get_total_flops()


@dataclass(frozen=True)
class Cost:
    parameters: int
    train_flop: int  # per training image, forward + backward
    eval_flop: int  # per test image, forward
    n_train: int
    n_test: int
    epochs: int

    @property
    def epoch_flop(self) -> int:
        return self.n_train * self.train_flop + self.n_test * self.eval_flop

    def seconds(self, device: str, total: bool = True) -> float:
        """An estimate at the assumed throughput ``THROUGHPUT[device]``, not a measurement."""
        return self.epoch_flop * (self.epochs if total else 1) / THROUGHPUT[device]


@functools.lru_cache(maxsize=None)
def _counted(name: str) -> tuple[int, int, int]:
    recipe = RECIPES[name]
    model = build_model(recipe)
    return (sum(p.numel() for p in model.parameters()), *flops_per_image(model, recipe.shape))


def cost(recipe: Recipe, *, epochs: int | None = None, n_train: int | None = None) -> Cost:
    parameters, train_flop, eval_flop = _counted(recipe.name)
    return Cost(parameters, train_flop, eval_flop, n_train or recipe.n_train, recipe.sizes[1], epochs or recipe.epochs)


# --- what the command prints ----------------------------------------------------------------------


def duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return "< 1 s"


def flop(n: float) -> str:
    for unit, size in (("EFLOP", 1e18), ("PFLOP", 1e15), ("TFLOP", 1e12)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1e9:.1f} GFLOP"


def list_table() -> str:
    """``reproduce --list``: one row per recipe."""
    rows = [f"{'recipe':<26} {'published':<17} {'parameters':>11} {'GFLOP/image':>12} {'epochs':>7} {'H100 (est.)':>12}"]
    for recipe in RECIPES.values():
        c = cost(recipe)
        rows.append(f"{recipe.name:<26} {str(recipe.published):<17} {c.parameters:>11,} {c.train_flop / 1e9:>12.2f} "
                    f"{c.epochs:>7} {duration(c.seconds('H100')):>12}")
    return "\n".join(rows + [
        "GFLOP/image: forward + backward of one training image, counted with FlopCounterMode (convolutions and matrix",
        f"multiplies). H100 (est.): the whole run's FLOP (training and each epoch's test pass) at an assumed "
        f"{THROUGHPUT['H100'] / 1e12:.0f} TFLOP/s;",
        "an estimate, not a measurement (no recipe has been run on a GPU yet). Details: reproduce NAME --dry-run",
    ])


def describe(recipe: Recipe, argv: list[str], cost_: Cost, shortened: dict[str, tuple[int, int]]) -> str:
    """The configuration, the train command, the differences from the source and the estimates;
    ``shortened``: what a shortened run changed, {what: (this run's value, the recipe's)}."""
    p = recipe.published
    lines = [f"recipe {recipe.name}: {recipe.summary}",
             f"  published: {p} on the test set, {p.source}" + (f" ({p.note})" if p.note else "")]
    if shortened:
        changed = ", ".join(f"{what} {new:,} instead of {old:,}" for what, (new, old) in shortened.items())
        lines.append(f"  SHORTENED RUN ({changed}): not comparable with the published figure")
    lines.append(f"  data: {recipe.dataset}, {cost_.n_train:,} training and {cost_.n_test:,} test images"
                 + (", binarised by one seeded Bernoulli draw" if recipe.binarize else ""))
    lines.append("  train command: python -m pixelcnn_edu train " + " ".join(argv))
    if recipe.model_overrides:
        lines.append(f"  model arguments no train option sets: {recipe.model_overrides}")
    if recipe.binarize:
        lines.append("  (the train command alone would threshold at 0.5; this recipe binarises stochastically)")
    lines.append("  differs from the source:")
    lines += [f"    - {d}" for d in recipe.differences]
    lines.append(f"  cost: {cost_.parameters:,} parameters; {cost_.train_flop / 1e9:.2f} GFLOP per training image "
                 f"(forward + backward), {cost_.eval_flop / 1e9:.2f} per test image; {flop(cost_.epoch_flop)} per epoch "
                 f"(training and test), {flop(cost_.epoch_flop * cost_.epochs)} in {cost_.epochs} epochs")
    for device, rate in THROUGHPUT.items():
        lines.append(f"  estimate at an assumed {rate / 1e12:.0f} TFLOP/s ({device}): {duration(cost_.seconds(device, total=False))} "
                     f"per epoch, {duration(cost_.seconds(device))} in all (not measured)")
    return "\n".join(lines)


def result_line(recipe: Recipe, test_bpd: float, epochs_done: int, shortened: dict[str, tuple[int, int]]) -> str:
    """The run's test score in the published figure's metric, beside it."""
    score = f"{test_bpd:.4f} bits/dim"
    if recipe.published.metric == "nats/image":  # nats per image = bits/dim x dimensions x ln 2
        score = f"{test_bpd * math.prod(recipe.shape) * math.log(2):.2f} nats/image ({score})"
    line = f"{recipe.name}: test {score} after {epochs_done} epochs; published {recipe.published} ({recipe.published.source})"
    return ("SHORTENED RUN, not comparable: " if shortened else "") + line
