"""The lab report's ablations as studies a student can rerun: which parts of the PixelCNN matter?

Hoang Pham's DSLab report "PixelCNN" trains a resblock PixelCNN (7x7 mask A, 64 filters, blocks
of ReLU and 1x1 -> 7x7 -> 1x1 mask-B convolutions with layer norm before each block, batch 128,
lr 1e-3) and changes one thing at a time: layer norm or none, 5 / 8 / 10 blocks, the residual
("skip") connection on or off, colour conditioning. Each :class:`Study` here is one such
question: a base model, the variants that differ from it in one argument, and the report's own
figures. :func:`run_study` trains every variant from the same seeds at the same budget and
returns the test bits/dim per seed, so that a difference can be set against the spread between
seeds before anyone calls it real.

The package's ``PixelCNN(kernel_size=7)`` is the report's block (ReLU before each convolution,
7x7 mask B inside); ``residual=False`` is its "no skip" variant.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

import torch

from . import data, models, train

if TYPE_CHECKING:
    from . import profiles

REPORT = "Hoang Pham, DSLab, \"PixelCNN\" (lab report)"


@dataclass(frozen=True)
class Study:
    """One question: ``variants`` maps a variant's name to the PixelCNN arguments that make it differ
    from the base model; ``report`` gives the report's test bits/dim per variant where it has one."""

    name: str
    question: str
    variants: dict[str, dict[str, Any]]
    report: dict[str, float]
    report_setting: str
    color: bool = False  # trained on colour images (coloured digits, or CelebA in the gpu profile)


STUDIES: dict[str, Study] = {
    "norm": Study(
        "norm", "Does normalisation before each block help?",
        {"no norm": dict(norm="none"), "layer norm": dict(norm="layer"), "batch norm": dict(norm="batch")},
        {"layer norm": 0.1085, "no norm": 0.1061},
        "MNIST, 5 blocks, 100 epochs (batch norm not in the report; evaluated in eval mode, where it is causal)",
    ),
    "depth": Study(
        "depth", "How many residual blocks?",
        {"3 blocks": dict(n_layers=3), "5 blocks": dict(n_layers=5), "8 blocks": dict(n_layers=8)},
        {"5 blocks": 0.1085, "8 blocks": 0.1061},
        "MNIST, layer norm, 100 epochs (the report also has 10 blocks: 0.1073)",
    ),
    "residual": Study(
        "residual", "Does the residual (skip) connection of each block matter?",
        {"residual": dict(residual=True), "no residual": dict(residual=False)},
        {"residual": 0.4492, "no residual": 0.6843},
        "CelebA, 8 blocks, layer norm, colour conditioning, after 20 epochs; here grey digits, so compare directions only",
    ),
    "color": Study(
        "color", "Does predicting R -> G -> B inside a pixel pay, against independent channels?",
        {"R -> G -> B": dict(color_groups=3), "independent channels": dict(color_groups=1)},
        {},
        "CelebA, 50 epochs (the report shows samples and curves, no figure)",
        color=True,
    ),
}


@dataclass(frozen=True)
class Budget:
    """How much each run gets: the same for every variant and seed of a study."""

    hidden: int = 16
    n_layers: int = 5
    kernel_size: int = 7
    epochs: int = 3
    train_limit: int | None = 1000
    test_limit: int | None = 500
    batch_size: int = 32
    lr: float = 2e-3
    color_levels: int = 4
    dataset: str = data.EMBEDDED
    color_dataset: str = data.COLORED


QUICK = Budget()  # seconds per run on two CPU cores, the embedded digits
# the report's width and learning rate on full MNIST, three epochs of 20,000 digits per run (docs/gpu.md)
GPU = Budget(hidden=64, epochs=3, train_limit=20000, test_limit=None, batch_size=128, lr=1e-3, color_levels=256,
             dataset="mnist", color_dataset="celeba")


def budget_for(profile: "profiles.Profile") -> Budget:
    """The study budget of a run profile: QUICK for quick, GPU otherwise; cut to one epoch of a few
    images when the profile is shrunk for a smoke run."""
    budget = QUICK if profile.name == "quick" else GPU
    return replace(budget, epochs=1, train_limit=32, test_limit=32) if profile.smoke else budget


@dataclass
class StudyResult:
    """Test bits/dim of every (variant, seed) run of a study, and their training histories."""

    study: Study
    seeds: list[int]
    scores: dict[str, list[float]] = field(default_factory=dict)  # variant -> one test bits/dim per seed
    histories: dict[str, list[train.History]] = field(default_factory=dict)
    parameters: dict[str, int] = field(default_factory=dict)
    dataset: str = ""

    def mean(self, variant: str) -> float:
        return statistics.fmean(self.scores[variant])

    def spread(self, variant: str) -> float:
        """The sample standard deviation over seeds (0 with one seed)."""
        values = self.scores[variant]
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def ranking(self) -> list[str]:
        """The variants from the lowest mean test bits/dim (the best) to the highest."""
        return sorted(self.scores, key=self.mean)

    def best(self) -> str:
        """The variant with the lowest mean test bits/dim."""
        return self.ranking()[0]

    def table(self) -> str:
        """A Markdown table: variant, parameters, mean ± spread over the seeds, each seed, the report."""
        lines = [f"{self.study.question} ({self.dataset}; {len(self.seeds)} seeds; report: {self.study.report_setting})", "",
                 "| variant | parameters | test bits/dim (mean ± sd) | per seed | the report |",
                 "| --- | --- | --- | --- | --- |"]
        for variant, values in self.scores.items():
            report = self.study.report.get(variant)
            lines.append(
                f"| {variant} | {self.parameters[variant]:,} | {self.mean(variant):.4f} ± {self.spread(variant):.4f} | "
                f"{', '.join(f'{v:.4f}' for v in values)} | {'—' if report is None else f'{report:.4f}'} |"
            )
        return "\n".join(lines)

    def test_curves(self) -> dict[str, list[float]]:
        """variant -> test bits/dim per epoch, averaged over the seeds (for ``viz.plot_curves``)."""
        return {variant: [statistics.fmean(epoch) for epoch in zip(*(h.test_bpd for h in runs))]
                for variant, runs in self.histories.items()}


def study_datasets(study: Study, budget: Budget) -> tuple[data.ImageDataset, data.ImageDataset]:
    """The (train, test) sets of a study under a budget; colour studies fall back loudly when the
    budget's colour dataset cannot be had."""
    name = budget.color_dataset if study.color else budget.dataset
    levels = budget.color_levels if study.color else 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_set, test_set = (data.load_dataset(name, split, levels) for split in ("train", "test"))
    for warning in caught:  # say it where a student looks: the dataset is not the one asked for
        print(f"WARNING: {warning.message}")
        warnings.warn(warning.message, stacklevel=2)
    if budget.train_limit:
        train_set = train_set.subset(budget.train_limit)
    if budget.test_limit:
        test_set = test_set.subset(budget.test_limit)
    return train_set, test_set


def build_variant(study: Study, variant: str, budget: Budget, in_channels: int, levels: int) -> models.PixelCNN:
    """The report's PixelCNN at the budget's size, changed by one variant of ``study``."""
    if variant not in study.variants:
        raise ValueError(f"study {study.name!r} has no variant {variant!r}; it has {list(study.variants)}")
    arguments = dict(in_channels=in_channels, levels=levels, hidden=budget.hidden, n_layers=budget.n_layers,
                     kernel_size=budget.kernel_size, input_kernel_size=7, norm="layer")
    return models.PixelCNN(**{**arguments, **study.variants[variant]})


def run_study(
    name: str,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    budget: Budget = QUICK,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> StudyResult:
    """Train every variant of study ``name`` from each seed at the same ``budget``; returns the
    test bits/dim per (variant, seed). A seed fixes the initial weights and the batch order, so
    two variants see the same data in the same order."""
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {list(STUDIES)}")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed (three to see the spread)")
    if any(isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 for seed in seeds):
        raise ValueError(f"seeds must be ints >= 0, got {list(seeds)}")
    study = STUDIES[name]
    train_set, test_set = study_datasets(study, budget)
    result = StudyResult(study, list(seeds), dataset=f"{train_set.name}, {len(train_set):,} training images")
    for variant in study.variants:
        for seed in seeds:
            torch.manual_seed(seed)
            model = build_variant(study, variant, budget, train_set.in_channels, train_set.levels).to(device)
            history = train.fit(model, train_set, test_set, epochs=budget.epochs, batch_size=budget.batch_size,
                                lr=budget.lr, seed=seed, progress=False)
            result.scores.setdefault(variant, []).append(history.test_bpd[-1])
            result.histories.setdefault(variant, []).append(history)
            result.parameters[variant] = sum(p.numel() for p in model.parameters())
            if progress:
                print(f"{name}: {variant}, seed {seed}: {history.summary()}", flush=True)
    return result


# two-sided 5% critical values of Student's t with df degrees of freedom (df = seeds - 1)
T_CRITICAL_5 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
                11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
                20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t_critical(df: int) -> float:
    """The two-sided 5% critical value of Student's t with ``df`` degrees of freedom (for a df between
    two entries of the table, the smaller df's value, which is the stricter one)."""
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an int >= 1 (seeds - 1), got {df!r}")
    return T_CRITICAL_5[max(k for k in T_CRITICAL_5 if k <= df)]


def difference(result: StudyResult, a: str, b: str) -> tuple[float, float]:
    """Mean test bits/dim of ``a`` minus that of ``b``, and the standard error of that mean, paired by
    seed: a seed gives both variants the same initial draw and batch order, so the per-seed differences
    a_s - b_s are what varies. NaN standard error with one seed (nothing to measure the noise with)."""
    for variant in (a, b):
        if variant not in result.scores:
            raise ValueError(f"no variant {variant!r} in this result; it has {list(result.scores)}")
    if len(result.scores[a]) != len(result.scores[b]):
        raise ValueError(f"{a!r} and {b!r} were run with different numbers of seeds; pair them seed by seed")
    diffs = [x - y for x, y in zip(result.scores[a], result.scores[b])]
    error = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
    return statistics.fmean(diffs), error


def beyond_noise(diff: float, error: float, seeds: int) -> bool:
    """Whether a paired difference over ``seeds`` seeds counts as real: the paired t-test at 5%,
    |diff / error| > t_critical(seeds - 1) (4.30 for 3 seeds, not 2). One seed never counts."""
    if seeds < 2 or not math.isfinite(error):
        return False
    return abs(diff) > t_critical(seeds - 1) * error
