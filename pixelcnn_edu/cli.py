"""Command line: ``python -m pixelcnn_edu train | sample | evaluate``.

    python -m pixelcnn_edu train --dataset mnist-embedded --levels 2 --epochs 5 --out runs/pixelcnn.pt
    python -m pixelcnn_edu train --model gated --conditional --epochs 5 --out runs/gated.pt
    python -m pixelcnn_edu train --model pixelcnn++ --dataset colored-mnist --levels 16 --out runs/pp.pt
    python -m pixelcnn_edu sample runs/pixelcnn.pt --n 16 --out samples.png
    python -m pixelcnn_edu evaluate runs/pixelcnn.pt

Options left out of ``train`` come from the profile (``--profile`` or ``$PIXELCNN_EDU_PROFILE``).
Training resumes from ``--out`` when that checkpoint exists (``--restart`` to start over).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Sequence

import torch

from . import data, likelihoods, models, profiles, sampling, train


def _dilations(text: str) -> list[int]:
    try:
        return [int(d) for d in text.split(",") if d.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"dilations must be comma-separated integers like 1,2,1,3, got {text!r}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pixelcnn_edu", description="Train, sample and evaluate PixelCNN-family models.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and save a checkpoint (with a progress bar)")
    t.add_argument("--model", choices=sorted(models.MODELS), default="pixelcnn", help="model family (default: pixelcnn)")
    t.add_argument("--profile", choices=sorted(profiles.PROFILES), default=None, help="defaults for everything below (default: quick without CUDA, full with)")
    t.add_argument("--dataset", choices=data.DATASETS, default=None, help="dataset (default: the profile's)")
    t.add_argument("--levels", type=int, default=None, help="values per sub-pixel; 2 binarises (default: the profile's)")
    t.add_argument("--hidden", type=int, default=None, help="feature maps (PixelCNN: between blocks; gated: per stack; pixelcnn++: per stream)")
    t.add_argument("--n-layers", type=int, default=None,
                   help="residual blocks (pixelcnn), gated layers after the first (gated), ResNet blocks per stage (pixelcnn++)")
    t.add_argument("--kernel-size", type=int, default=None, help="kernel size of the later (mask-B) layers")
    t.add_argument("--input-kernel-size", type=int, default=7, help="kernel size of the first (mask-A) layer (default: 7)")
    t.add_argument("--dilations", type=_dilations, default=None, help="one dilation per block, e.g. 1,2,1,3,1,2,1")
    t.add_argument("--conditional", action="store_true", help="condition on the class labels (pixelcnn, gated)")
    t.add_argument("--likelihood", choices=["categorical", "logistic"], default=None,
                   help="output distribution: a softmax over the levels, or a discretised logistic mixture "
                        "(default: logistic for pixelcnn++, categorical otherwise)")
    t.add_argument("--dropout", type=float, default=0.0, help="dropout inside PixelCNN++'s blocks")
    t.add_argument("--n-mix", type=int, default=10, help="logistic components per sub-pixel (with --likelihood logistic)")
    t.add_argument("--uncoupled", action="store_true", help="logistic mixture without PixelCNN++'s R -> G -> B mean coupling")
    t.add_argument("--norm", choices=["none", "layer", "batch"], default="none", help="normalisation (default: none)")
    t.add_argument("--color-groups", type=int, default=None, help="1: channels of a pixel independent; default: R -> G -> B (one group per channel)")
    t.add_argument("--color-convention", choices=["contiguous", "interleaved"], default="contiguous", help="how feature maps are assigned to colours")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    t.add_argument("--clip-grad", type=float, default=1.0, help="gradient-norm clipping (0 disables)")
    t.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    t.add_argument("--data-root", default="data", help="folder for torchvision downloads")
    t.add_argument("--out", type=Path, required=True, help="checkpoint file to write (resumed if it exists)")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint at --out")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    s = sub.add_parser("sample", help="draw images from a checkpoint into a PNG grid")
    s.add_argument("checkpoint", type=Path)
    s.add_argument("--n", type=int, default=16, help="number of images")
    s.add_argument("--out", type=Path, default=Path("samples.png"), help="PNG file to write")
    s.add_argument("--nrow", type=int, default=8, help="images per row")
    s.add_argument("--label", type=int, default=None, help="class of every image for a conditional model (default: 0, 1, 2, ... in turn)")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default=None)
    s.add_argument("--no-cache", action="store_true", help="use the naive loop (one full pass per sub-pixel), the reference for the cached one")
    s.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("evaluate", help="print a checkpoint's bits/dim on a dataset split")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--dataset", choices=data.DATASETS, default=None, help="default: the dataset it was trained on")
    e.add_argument("--split", choices=["train", "test"], default="test")
    e.add_argument("--batch-size", type=int, default=256)
    e.add_argument("--data-root", default="data")
    e.add_argument("--device", default=None)
    return parser


def _device(name: str | None) -> torch.device:
    return torch.device(name) if name else profiles.default_device()


def _likelihood(args: argparse.Namespace, levels: int):
    name = args.likelihood or ("logistic" if args.model == "pixelcnn++" else "categorical")
    if name == "logistic" and args.model in ("made", "independent"):
        raise ValueError(f"--likelihood logistic works with --model pixelcnn, gated or pixelcnn++, not {args.model}")
    if name == "categorical":
        if args.uncoupled:
            raise ValueError("--uncoupled applies to --likelihood logistic")
        return likelihoods.Categorical(levels)
    return likelihoods.DiscretizedLogisticMixture(args.n_mix, levels, coupled=not args.uncoupled)


def _build_model(args: argparse.Namespace, profile: profiles.Profile, levels: int, dataset: data.ImageDataset):
    n_classes = int(dataset.labels.max()) + 1 if args.conditional else None
    if args.conditional and args.model in ("made", "independent"):
        raise ValueError(f"--conditional works with --model pixelcnn, gated or pixelcnn++, not {args.model}")
    likelihood = _likelihood(args, levels)
    if args.dropout and args.model != "pixelcnn++":
        raise ValueError(f"--dropout is a pixelcnn++ option; --model {args.model} has none")
    if args.norm != "none" and args.model != "pixelcnn":
        raise ValueError(f"--norm is a PixelCNN option; --model {args.model} has none")
    if args.model == "pixelcnn++":
        return models.PixelCNNPlusPlus(
            in_channels=dataset.in_channels, levels=levels, hidden=args.hidden or profile.pp_hidden,
            n_resnet=args.n_layers or profile.pp_resnet, n_mix=args.n_mix, dropout=args.dropout, n_classes=n_classes,
            likelihood=likelihood,
        )
    gated = args.model == "gated"
    shared = dict(
        in_channels=dataset.in_channels, levels=levels,
        hidden=args.hidden or (profile.gated_hidden if gated else profile.hidden),
        n_layers=args.n_layers or (profile.gated_layers if gated else profile.n_layers),
        kernel_size=args.kernel_size or profile.kernel_size,
        input_kernel_size=args.input_kernel_size, dilations=args.dilations, color_groups=args.color_groups,
        color_convention=args.color_convention, n_classes=n_classes, likelihood=likelihood,
    )
    if args.model == "pixelcnn":
        return models.PixelCNN(norm=args.norm, **shared)
    if args.model == "gated":
        return models.GatedPixelCNN(**shared)
    if args.model == "made":
        return models.MADE(in_channels=dataset.in_channels, levels=levels, image_size=dataset.image_size)
    return models.IndependentPixels(in_channels=dataset.in_channels, levels=levels, image_size=dataset.image_size)


def cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> None:
    profile = profiles.get_profile(args.profile)
    name, levels = args.dataset or profile.dataset, args.levels or profile.levels
    train_set = data.load_dataset(name, "train", levels, root=args.data_root)
    test_set = data.load_dataset(name, "test", levels, root=args.data_root)
    if args.train_limit:
        train_set = train_set.subset(args.train_limit)
    torch.manual_seed(args.seed)
    model = _build_model(args, profile, levels, train_set).to(_device(args.device))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {n_params:,} parameters; {train_set} -> {args.out}")
    if args.restart:
        args.out.unlink(missing_ok=True)
    elif args.out.exists():
        print(f"resuming from {args.out}")
    history = train.fit(
        model, train_set, test_set, epochs=args.epochs or profile.epochs, batch_size=args.batch_size or profile.batch_size,
        lr=args.lr or profile.lr, clip_grad=args.clip_grad or None, checkpoint=args.out, seed=args.seed,
        progress=not args.no_progress,
        metadata={"command": "python -m pixelcnn_edu " + shlex.join(argv), "profile": profile.name},
    )
    if history.test_bpd:
        print(
            f"epoch {len(history.test_bpd)}: train {history.train_bpd[-1]:.4f} bits/dim, "
            f"test {history.test_bpd[-1]:.4f} bits/dim, {history.images_per_s[-1]:.0f} images/s"
        )
    print(f"saved {args.out}")


def cmd_sample(args: argparse.Namespace, argv: Sequence[str]) -> None:
    model, state = train.load_model(args.checkpoint)
    device = _device(args.device)
    model.to(device)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    image_size = tuple(state.get("image_size", (28, 28)))
    y = None
    if model.n_classes is not None:
        y = torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) % model.n_classes
    elif args.label is not None:
        raise ValueError(f"--label was given but {args.checkpoint} holds an unconditional model")
    images = sampling.sample(
        model, args.n, image_size, y=y, temperature=args.temperature, generator=generator,
        progress=not args.no_progress, cache=not args.no_cache,
    )
    from . import viz  # matplotlib is only needed here

    path = viz.save_image_grid(images.cpu(), args.out, nrow=args.nrow)
    print(f"wrote {args.n} samples to {path}")


def cmd_evaluate(args: argparse.Namespace, argv: Sequence[str]) -> None:
    model, state = train.load_model(args.checkpoint)
    model.to(_device(args.device))
    name = args.dataset or state.get("dataset", data.EMBEDDED)
    dataset = data.load_dataset(name, args.split, model.levels, root=args.data_root)
    bpd = train.evaluate(model, dataset, batch_size=args.batch_size, progress=True)
    print(f"{args.checkpoint}: {dataset.name} {args.split} bits/dim = {bpd:.4f} ({len(dataset)} images)")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    command = {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate}[args.command]
    try:
        command(args, argv)
    except (ValueError, FileNotFoundError, data.DatasetUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
