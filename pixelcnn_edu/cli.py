"""Command line: ``pixelcnn-edu train | sample | evaluate | reproduce`` (or ``python -m pixelcnn_edu ...``).

    python -m pixelcnn_edu train --dataset mnist-embedded --levels 2 --epochs 5 --out runs/pixelcnn.pt
    python -m pixelcnn_edu train --model gated --conditional --epochs 5 --out runs/gated.pt
    python -m pixelcnn_edu train --model pixelcnn++ --dataset colored-mnist --levels 16 --out runs/pp.pt
    python -m pixelcnn_edu train --model transformer --hidden 32 --n-heads 4 --n-layers 4 --out runs/transformer.pt
    python -m pixelcnn_edu sample runs/pixelcnn.pt --n 16 --out samples.png
    python -m pixelcnn_edu evaluate runs/pixelcnn.pt
    python -m pixelcnn_edu reproduce --list
    python -m pixelcnn_edu reproduce uva-gated-mnist256 --dry-run

Options left out of ``train`` come from the profile (``--profile`` or ``$PIXELCNN_EDU_PROFILE``);
a colour dataset gets the profile's ``color_levels``. Which model takes which model option is one table,
:data:`cli_options.MODEL_OPTIONS` (printed by ``train --help`` and in docs/cli.md); an option given to a
model that does not take it is refused. Training resumes from ``--out`` when that
checkpoint exists (``--restart`` to start over). ``reproduce NAME`` runs one of the paper-scale recipes
of :mod:`reproduce` through the same training code (docs/recipes.md).

Every error is one line on stderr and exit code 2: bad values are rejected while the arguments are
read; the device, the output paths and the model options are checked before any data is loaded or
any image drawn.

Under ``torchrun --nproc_per_node=N -m pixelcnn_edu train ...`` (or ``reproduce``, ``evaluate``) the N
processes train one model (:mod:`distributed`, docs/distributed.md): every rank checks that it was
started with the same arguments, takes ``cuda:LOCAL_RANK`` for ``--device cuda``, and prints its
errors; rank 0 alone prints the rest and writes the checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn, Sequence

import torch

from . import cli_options as opt
from . import data, distributed, likelihoods, models, png, profiles, recipe, reproduce, sampling, train


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr (exit code 2), like the commands' own."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pixelcnn-edu", description="Train, sample and evaluate PixelCNN-family models.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and save a checkpoint (with a progress bar)",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=opt.text_table())
    t.add_argument("--model", choices=sorted(models.MODELS), default="pixelcnn", help="model family (default: pixelcnn)")
    t.add_argument("--profile", choices=profiles.names(), default=None, help="defaults for everything below (default: quick without CUDA, gpu with; full is gpu's old name)")
    t.add_argument("--dataset", choices=data.DATASETS, default=None, help="dataset (default: the profile's)")
    t.add_argument("--levels", type=opt.int_at_least(2), default=None,
                   help="values per sub-pixel; 2 binarises (default: the profile's levels, or color_levels for a colour dataset)")
    t.add_argument("--epochs", type=opt.positive, default=None, help="(default: the profile's)")
    t.add_argument("--batch-size", type=opt.positive, default=None, help="(default: the profile's)")
    t.add_argument("--lr", type=opt.positive_float, default=None, help="Adam learning rate (default: the profile's)")
    t.add_argument("--clip-grad", type=opt.clip_grad, default=1.0, help="gradient-norm clipping; 0 disables it (default: 1.0)")
    t.add_argument("--schedule", choices=list(recipe.SCHEDULES), default="constant", help="learning rate after the warm-up: constant, or a cosine decay to 0 (default: constant)")
    t.add_argument("--warmup", type=opt.fraction, default=0.0, help="fraction of the run with a linear warm-up of the learning rate (default: 0)")
    t.add_argument("--ema", type=opt.ema_decay, default=None, help="keep and evaluate an exponential moving average of the weights with this decay, e.g. 0.999")
    t.add_argument("--mixed-precision", action="store_true", help="train the network in bfloat16 under torch.autocast: faster only where the hardware computes bfloat16 natively; timing.choose_precision measures it")
    t.add_argument("--marginal-bias", action="store_true", help="with the categorical likelihood: start the output bias at the training images' level histogram")
    t.add_argument("--train-limit", type=opt.positive, default=None, help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", type=opt.device, default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    t.add_argument("--data-root", default="data", help="folder for torchvision downloads")
    t.add_argument("--out", type=Path, required=True, help="checkpoint file to write (resumed if it exists)")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint at --out")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    opt.add_model_options(t)
    t.add_argument("--d-model", action=opt.Renamed, new="--hidden")  # the transformer's width before version 0.3

    s = sub.add_parser("sample", help="draw images from a checkpoint into a PNG grid")
    s.add_argument("checkpoint", type=Path)
    s.add_argument("--n", type=opt.positive, default=16, help="number of images")
    s.add_argument("--out", type=Path, default=Path("samples.png"), help="PNG file to write")
    s.add_argument("--nrow", type=opt.positive, default=8, help="images per row")
    s.add_argument("--label", type=int, default=None, help="class of every image for a conditional model (default: 0, 1, 2, ... in turn)")
    s.add_argument("--temperature", type=opt.temperature, default=1.0, help="> 0: below 1 sharpens, above 1 flattens (default: 1)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", type=opt.device, default=None)
    s.add_argument("--no-cache", action="store_true", help="use the naive loop (one full pass per sub-pixel), the reference for the cached one")
    s.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("evaluate", help="print a checkpoint's bits/dim on a dataset split")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--dataset", choices=data.DATASETS, default=None, help="default: the dataset it was trained on")
    e.add_argument("--split", choices=["train", "test"], default="test")
    e.add_argument("--batch-size", type=opt.positive, default=256)
    e.add_argument("--data-root", default="data")
    e.add_argument("--device", type=opt.device, default=None)

    r = sub.add_parser("reproduce", help="run a paper-scale recipe (resumable; see --list and docs/recipes.md)")
    r.add_argument("name", nargs="?", metavar="NAME", help="the recipe (see --list)")
    r.add_argument("--list", action="store_true", help="print the recipes: published figure, parameters, GFLOP/image, estimated time")
    r.add_argument("--dry-run", action="store_true", help="print the configuration, the train command and the estimates; train nothing")
    r.add_argument("--out", type=Path, default=None, help="checkpoint (default: runs/NAME.pt, runs/NAME-shortened.pt for a shortened run)")
    r.add_argument("--device", type=opt.device, default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    r.add_argument("--data-root", default="data", help="folder with (or for) the torchvision dataset files")
    r.add_argument("--epochs", type=opt.positive, default=None, help="for testing: fewer epochs than the recipe's (printed and recorded as a shortened run)")
    r.add_argument("--train-limit", type=opt.positive, default=None,
                   help="for testing: fewer training images than the recipe's (printed and recorded as a shortened run)")
    r.add_argument("--restart", action="store_true", help="ignore an existing checkpoint at --out")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _or(value, default):
    """``value`` unless the option was left out (None): an explicit 0 is never replaced by a default."""
    return default if value is None else value


def _check_out(path: Path, example: str) -> None:
    """Raise a ValueError unless ``--out`` can be written as a file (missing folders above it are
    created), before hours of training or sampling; ``example`` is a file name to suggest."""
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as {path / example}")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"--out {path} cannot be written: {folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--out {path} cannot be written: no permission to write in {folder}")


def _likelihood(args: argparse.Namespace, levels: int) -> likelihoods.Likelihood:
    name = args.likelihood or ("logistic" if args.model == "pixelcnn++" else "categorical")
    if args.marginal_bias and (name == "logistic" or args.model in ("made", "independent", "transformer")):
        raise ValueError("--marginal-bias works with --likelihood categorical and --model pixelcnn, gated or pixelcnn++")
    if name == "categorical":
        for option, given in (("--uncoupled", args.uncoupled), ("--n-mix", args.n_mix is not None), ("--log-scale-min", args.log_scale_min is not None)):
            if given:
                raise ValueError(f"{option} applies to --likelihood logistic")
        return likelihoods.Categorical(levels)
    bound = {} if args.log_scale_min is None else {"log_scale_min": args.log_scale_min}
    return likelihoods.DiscretizedLogisticMixture(_or(args.n_mix, 10), levels, coupled=not args.uncoupled, **bound)


def _check_model_options(args: argparse.Namespace, levels: int) -> None:
    """Raise a one-line ValueError for a model option that ``args.model`` does not take (the table of
    :mod:`cli_options`) or that lacks the option it needs; before any data is loaded."""
    opt.check_model_options(args)
    if args.class_maps and not args.conditional:
        raise ValueError("--class-maps needs --conditional (the maps belong to the class labels)")
    _likelihood(args, levels)


def _profile_sizes(model: str, profile: profiles.Profile) -> dict[str, int]:
    """The profile's sizes of ``model``: what --hidden, --n-layers and --kernel-size replace."""
    return {
        "pixelcnn": dict(hidden=profile.hidden, n_layers=profile.n_layers, kernel_size=profile.kernel_size),
        "gated": dict(hidden=profile.gated_hidden, n_layers=profile.gated_layers, kernel_size=profile.kernel_size),
        "pixelcnn++": dict(hidden=profile.pp_hidden, n_layers=profile.pp_layers),
        "made": dict(hidden=profile.made_hidden, n_layers=profile.made_layers),
        "transformer": dict(hidden=profile.transformer_hidden, n_layers=profile.transformer_layers),
    }.get(model, {})


def _build_model(args: argparse.Namespace, profile: profiles.Profile, levels: int, dataset: data.ImageDataset,
                 n_classes: int | None = None) -> models.AutoregressiveModel:
    """The model ``args`` ask for, for images like ``dataset``'s: the profile's sizes, then the given model
    options. With ``--conditional``, ``n_classes`` (default: the classes among ``dataset``'s labels)."""
    _check_model_options(args, levels)
    cls = models.MODELS[args.model]
    arguments = {**_profile_sizes(args.model, profile), **opt.model_arguments(args), "likelihood": _likelihood(args, levels)}
    if args.conditional:
        arguments["n_classes"] = n_classes or int(dataset.labels.max()) + 1
    if "image_size" in inspect.signature(cls.__init__).parameters:  # MADE, IndependentPixels, the transformer's position tables
        arguments["image_size"] = dataset.image_size
    return cls(dataset.in_channels, levels, **arguments)


def cmd_train(
    args: argparse.Namespace, argv: Sequence[str], *, datasets: tuple[data.ImageDataset, data.ImageDataset] | None = None,
    model_overrides: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
) -> train.History:
    """Train as ``args`` say. ``reproduce`` passes its own (train, test) ``datasets``, constructor
    arguments no option sets (``model_overrides``) and extra checkpoint ``metadata``."""
    _check_out(args.out, "model.pt")
    device = distributed.rank_device(_or(args.device, profiles.default_device()))
    profile = profiles.get_profile(args.profile)
    name = _or(args.dataset, profile.dataset)
    levels = datasets[0].levels if datasets else _or(args.levels, profile.color_levels if name in data.COLOR_DATASETS else profile.levels)
    _check_model_options(args, levels)
    if datasets is None:
        train_set = data.load_dataset(name, "train", levels, root=args.data_root)
        test_set = data.load_dataset(name, "test", levels, root=args.data_root)
    else:
        train_set, test_set = datasets
    n_classes = max(int(split.labels.max()) for split in (train_set, test_set)) + 1  # every class, not only --train-limit's
    if args.train_limit is not None:
        train_set = train_set.subset(args.train_limit)
    torch.manual_seed(args.seed)
    model = _build_model(args, profile, levels, train_set, n_classes)
    if model_overrides:  # the same class with some constructor arguments changed, its weights drawn from the same seed
        torch.manual_seed(args.seed)
        model = models.from_config(models.model_name(model), {**model.config(), **model_overrides})
    model = model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {n_params:,} parameters; {train_set} -> {args.out}")
    if args.restart:
        args.out.unlink(missing_ok=True)
    elif args.out.exists():
        print(f"resuming from {args.out}")
    history = train.fit(
        model, train_set, test_set, epochs=_or(args.epochs, profile.epochs), batch_size=_or(args.batch_size, profile.batch_size),
        lr=_or(args.lr, profile.lr), clip_grad=None if args.clip_grad == 0 else args.clip_grad, checkpoint=args.out, seed=args.seed,
        progress=not args.no_progress, schedule=args.schedule, warmup=args.warmup, ema=args.ema,
        mixed_precision=args.mixed_precision, marginal_bias=args.marginal_bias,
        metadata={"command": "python -m pixelcnn_edu " + shlex.join(argv), "profile": profile.name, **(metadata or {})},
    )
    if history.test_bpd:
        print(
            f"epoch {len(history.test_bpd)}: train {history.train_bpd[-1]:.4f} bits/dim, "
            f"test {history.test_bpd[-1]:.4f} bits/dim, {history.images_per_s[-1]:.0f} images/s"
        )
    print(f"saved {args.out}")
    return history


def cmd_reproduce(args: argparse.Namespace, argv: Sequence[str]) -> None:
    if args.list:
        given = [o for o, v in (("NAME", args.name), ("--dry-run", args.dry_run), ("--out", args.out), ("--device", args.device),
                                ("--epochs", args.epochs), ("--train-limit", args.train_limit), ("--restart", args.restart),
                                ("--data-root", args.data_root != "data"), ("--no-progress", args.no_progress)) if v]
        if given:
            raise ValueError(f"--list takes no other option or name, got {', '.join(given)}")
        print(reproduce.list_table())
        return
    if args.name is None:
        raise ValueError(f"give a recipe NAME ({', '.join(reproduce.RECIPES)}) or --list")
    recipe = reproduce.get_recipe(args.name)
    shortened = {}
    for what, value, full in (("epochs", args.epochs, recipe.epochs), ("training images", args.train_limit, recipe.n_train)):
        if value is not None and value >= full:
            raise ValueError(f"a recipe's {what} can only be shortened (for testing): {value:,} is not below its {full:,}")
        if value is not None:
            shortened[what] = (value, full)
    out = args.out = args.out or Path("runs") / f"{recipe.name}{'-shortened' if shortened else ''}.pt"  # main() names it on a 2nd Ctrl-C
    changes = dict(epochs=args.epochs, train_limit=args.train_limit, device=args.device, data_root=args.data_root,
                   restart=args.restart, no_progress=args.no_progress)
    train_argv = reproduce.train_argv(recipe, out, **changes)
    cost = reproduce.cost(recipe, epochs=args.epochs, n_train=args.train_limit)
    print(reproduce.describe(recipe, train_argv, cost, shortened))
    print(f"  checkpoint: {out} ({'exists: this command resumes it' if out.exists() and not args.restart else 'a new run'})")
    if args.dry_run:
        return
    _check_out(out, "run.pt")  # before the data is loaded
    train_args = _parser().parse_args(["train", *train_argv])
    datasets = reproduce.load_data(recipe, root=args.data_root)
    metadata = {"recipe": recipe.name, "shortened": {what: new for what, (new, _) in shortened.items()},
                "train_command": "python -m pixelcnn_edu train " + shlex.join(train_argv),
                "model_overrides": dict(recipe.model_overrides),
                "binarisation": f"Bernoulli, seeds {reproduce.BINARIZATION_SEEDS}" if recipe.binarize else None}
    resume_argv = [a for a in argv if a != "--restart"]  # the checkpoint records the command that continues it
    history = cmd_train(train_args, resume_argv, datasets=datasets, model_overrides=recipe.model_overrides, metadata=metadata)
    if history.test_bpd:
        print(reproduce.result_line(recipe, history.test_bpd[-1], len(history.test_bpd), shortened))


def cmd_sample(args: argparse.Namespace, argv: Sequence[str]) -> None:
    if distributed.in_torchrun():
        raise ValueError("sample runs in one process: start it with python -m pixelcnn_edu sample, not under torchrun")
    _check_out(args.out, "samples.png")
    if args.out.suffix.lower() != ".png":
        raise ValueError(f"--out must end in .png (the grid is written as PNG), got {str(args.out)!r}")
    model, state = train.load_model(args.checkpoint)
    device = _or(args.device, profiles.default_device())
    model.to(device)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    image_size = state.get("image_size")  # None: the model's own size where it has one, else 28 x 28
    y = None
    if model.n_classes is not None:
        y = torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) % model.n_classes
    elif args.label is not None:
        raise ValueError(f"--label was given but {args.checkpoint} holds an unconditional model")
    images = sampling.sample(
        model, args.n, image_size, y=y, temperature=args.temperature, generator=generator,
        progress=not args.no_progress, cache=not args.no_cache,
    )

    path = png.save_image_grid(images.cpu(), args.out, nrow=args.nrow)
    print(f"wrote {args.n} samples to {path}")


def cmd_evaluate(args: argparse.Namespace, argv: Sequence[str]) -> None:
    model, state = train.load_model(args.checkpoint)
    model.to(distributed.rank_device(_or(args.device, profiles.default_device())))
    name = args.dataset or state.get("dataset", data.EMBEDDED)
    dataset = data.load_dataset(name, args.split, model.levels, root=args.data_root)
    bpd = train.evaluate(model, dataset, batch_size=args.batch_size, progress=True)
    print(f"{args.checkpoint}: {dataset.name} {args.split} bits/dim = {bpd:.4f} ({len(dataset)} images)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code (0, or 2 after a one-line error on stderr)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit:  # --help (0), or a bad option already reported on one line (2)
        return int(exit.code or 0)
    command = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate, "reproduce": cmd_reproduce}[args.command]
    rank = ""  # under torchrun, errors name the rank that prints them
    try:
        with warnings.catch_warnings(), _rank_zero_prints():
            warnings.showwarning = _one_line_warning
            if distributed.in_torchrun() and args.command != "sample":
                group = distributed.current(torch.device("cpu"))
                rank = f"rank {group.rank}: "
                group.check_same("arguments", argv)  # before any data is loaded
            command(args, argv)
            distributed.finish()  # under torchrun: every rank is done before any leaves
    except (ValueError, OSError, data.DatasetUnavailable) as err:
        print(f"{rank}error: {err}", file=sys.stderr)
        return 2
    except train.TrainingInterrupted as stop:  # Ctrl-C or SIGTERM, stopped at a batch boundary
        if distributed.is_main_process():  # under torchrun every rank stops here; rank 0 saved and tells
            print(stop, file=sys.stderr)
        distributed.finish()  # every rank stopped at the same batch boundary
        return 130
    except KeyboardInterrupt:  # a second Ctrl-C, or one while sampling or evaluating
        saved = args.command in ("train", "reproduce") and args.out is not None and args.out.is_file()
        print(f"interrupted; {args.out} holds every finished batch: run the same command to resume" if saved else "interrupted", file=sys.stderr)
        return 130
    return 0


def _rank_zero_prints() -> contextlib.AbstractContextManager[Any]:
    """Under torchrun, only rank 0's standard output is shown (errors and warnings go to stderr on every rank)."""
    if distributed.in_torchrun() and int(os.environ.get("RANK", "0")) != 0:
        return contextlib.redirect_stdout(open(os.devnull, "w"))
    return contextlib.nullcontext()


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None) -> None:
    print(f"warning: {message}", file=sys.stderr)
