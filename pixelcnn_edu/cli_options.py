"""How the command line reads its options: the value types, and the one table of model options.

``MODEL_OPTIONS`` says which constructor argument each model option of ``train`` sets. Which models
take an option is read from the constructor signatures (``inspect.signature``): ``--dropout`` sets
``dropout``, so every model whose constructor has a ``dropout`` argument takes it, and the table cannot
disagree with the models. A model option is "given" when it is on the command line (its argparse default
is None, or False for a flag), even with the model's default value; one given to a model that does not
take it is refused in one line (:func:`check_model_options`). ``train --help`` prints the table
(:func:`text_table`) and docs/cli.md prints it as Markdown (:func:`markdown_table`; a test compares them).
"""

from __future__ import annotations

import argparse
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from . import models
from .checks import check_temperature

# ----------------------------------------------------------------------------------------- value types


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int >= ``minimum`` (so 0 cannot silently mean "the profile's value")."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {value}")
        return value

    return parse


positive = int_at_least(1)


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def finite(text: str) -> float:
    value = number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value}")
    return value


def positive_float(text: str) -> float:
    value = number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {value}")
    return value


def clip_grad(text: str) -> float:
    value = number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 (0 disables clipping), got {value}")
    return value


def fraction(text: str) -> float:
    value = number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {value}")
    return value


def ema_decay(text: str) -> float:
    value = number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a decay in (0, 1), e.g. 0.999, got {value}")
    return value


def temperature(text: str) -> float:
    try:
        return check_temperature(number(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def device(text: str) -> torch.device:
    """An argparse type: a device this machine has, so a typo or a missing GPU fails before any work."""
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise argparse.ArgumentTypeError(f"{text} needs CUDA, but this PyTorch sees no CUDA device; use cpu")
        if (dev.index or 0) >= count:
            raise argparse.ArgumentTypeError(f"{text}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text} is not available on this machine; use cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device this command supports; use cpu, cuda, cuda:N or mps")
    return dev


def dilations(text: str) -> list[int]:
    try:
        return [int(d) for d in text.split(",") if d.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"dilations must be comma-separated integers like 1,2,1,3, got {text!r}") from None


class Renamed(argparse.Action):
    """An option that was renamed: giving it is an error that names the new one (``--d-model`` -> ``--hidden``)."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        parser.error(f"{option_string} is now {self.new}, one name for the width of every model: give {self.new} {values}")


# ------------------------------------------------------------------------------------- the model options


def _as_given(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class ModelOption:
    """One ``train`` option that configures the model: ``flag`` sets the constructor argument
    ``argument`` (as ``sets`` says) to ``to_argument(value)``, or the command builds the argument from it
    and the data (``to_argument=None``: the likelihood, ``n_classes``); ``spec`` holds its ``add_argument``
    keywords; ``needs`` names another option without which it is refused."""

    flag: str
    argument: str
    sets: str
    spec: dict[str, Any] = field(hash=False)
    needs: str = ""
    to_argument: Callable[[Any], Any] | None = _as_given

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")

    @property
    def models(self) -> tuple[str, ...]:
        """The models whose constructor has ``argument``, in ``models.MODELS`` order."""
        return tuple(name for name, cls in models.MODELS.items() if self.argument in inspect.signature(cls.__init__).parameters)

    def given(self, args: argparse.Namespace) -> bool:
        value = getattr(args, self.dest)
        return value is not None and value is not False


_LOGISTIC = "--likelihood logistic (pixelcnn++: the default)"
MODEL_OPTIONS: tuple[ModelOption, ...] = (
    ModelOption("--hidden", "hidden", "hidden", dict(type=positive, help=(
        "width: feature maps (pixelcnn; gated: per stack; pixelcnn++: per stream), features per token (transformer), "
        "units per hidden layer (made); default: the profile's"))),
    ModelOption("--n-layers", "n_layers", "n_layers", dict(type=positive, help=(
        "blocks after the input layer: residual blocks (pixelcnn), gated layers (gated), blocks per stage (pixelcnn++), "
        "hidden layers (made), transformer blocks (transformer); default: the profile's"))),
    ModelOption("--n-heads", "n_heads", "n_heads", dict(type=positive, help="attention heads; must divide --hidden (default: 4)")),
    ModelOption("--kernel-size", "kernel_size", "kernel_size", dict(type=positive, help="kernel of the later (mask-B) layers (default: the profile's)")),
    ModelOption("--input-kernel-size", "input_kernel_size", "input_kernel_size",
                dict(type=positive, help="kernel of the first (mask-A) layer (default: 7)")),
    ModelOption("--dilations", "dilations", "dilations", dict(type=dilations, help="one dilation per block, e.g. 1,2,1,3,1,2,1")),
    ModelOption("--norm", "norm", "norm", dict(choices=["none", "layer", "batch"], help="normalisation in the blocks (default: none)")),
    ModelOption("--no-residual", "residual", "residual=False",
                dict(action="store_true", help="blocks without their identity path (the ablation of residual connections)"),
                to_argument=lambda given: False),
    ModelOption("--color-groups", "color_groups", "color_groups",
                dict(type=positive, help="1: the channels of a pixel independent (default: R -> G -> B, one group per channel)")),
    ModelOption("--color-convention", "color_convention", "color_convention",
                dict(choices=["contiguous", "interleaved"], help="how feature maps are assigned to colours (default: contiguous)")),
    ModelOption("--dropout", "dropout", "dropout", dict(type=fraction, help="dropout inside the blocks (default: 0)")),
    ModelOption("--conditional", "n_classes", "n_classes",
                dict(action="store_true", help="condition on the class labels (n_classes: every class of the dataset)"), to_argument=None),
    ModelOption("--class-maps", "class_maps", "class_maps", dict(type=int_at_least(0), help=(
        "learned 7x7 maps per class that let each class bias vary over the image (default: 0, one bias for every pixel)")),
        needs="--conditional"),
    ModelOption("--likelihood", "likelihood", "likelihood", dict(choices=["categorical", "logistic"], help=(
        "output distribution: a softmax over the levels, or a discretised logistic mixture "
        "(default: logistic for pixelcnn++, categorical otherwise)")), to_argument=None),
    ModelOption("--n-mix", "likelihood", "likelihood.n_mix", dict(type=positive, help="logistic components per sub-pixel (default: 10)"),
                needs=_LOGISTIC, to_argument=None),
    ModelOption("--log-scale-min", "likelihood", "likelihood.log_scale_min",
                dict(type=finite, help="lower bound of a logistic component's log-scale (default: -7, as PixelCNN++)"), needs=_LOGISTIC, to_argument=None),
    ModelOption("--uncoupled", "likelihood", "likelihood.coupled=False",
                dict(action="store_true", help="a mixture without PixelCNN++'s R -> G -> B mean coupling"), needs=_LOGISTIC, to_argument=None),
)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add every model option to ``parser`` (``train``) in one group, each with default None (False for a flag)."""
    group = parser.add_argument_group("model options (which model takes which: the table below)")
    for option in MODEL_OPTIONS:
        group.add_argument(option.flag, **({"default": None} if "action" not in option.spec else {}), **option.spec)


def taken_by(model: str) -> list[str]:
    """The model options that ``model`` takes, in table order."""
    return [option.flag for option in MODEL_OPTIONS if model in option.models]


def check_model_options(args: argparse.Namespace) -> None:
    """Raise a one-line ValueError if an option given in ``args`` does not apply to ``args.model``."""
    foreign = [option.flag for option in MODEL_OPTIONS if option.given(args) and args.model not in option.models]
    if foreign:
        what = f"{foreign[0]} is not an option" if len(foreign) == 1 else f"{', '.join(foreign)} are not options"
        raise ValueError(f"{what} of --model {args.model} (it takes: {', '.join(taken_by(args.model)) or 'none'})")


def model_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor arguments the given model options set, except ``likelihood`` and ``n_classes``
    (the command builds those from several options and the data)."""
    return {option.argument: option.to_argument(getattr(args, option.dest)) for option in MODEL_OPTIONS
            if option.given(args) and option.to_argument is not None}


# ------------------------------------------------------------------------------------------- the table


def _rows() -> list[list[str]]:
    names = list(models.MODELS)
    return [["option", "sets", *names, "needs"]] + [
        [o.flag, o.sets, *("x" if name in o.models else "-" for name in names), o.needs or "-"] for o in MODEL_OPTIONS
    ]


def markdown_table() -> str:
    """The table for docs/cli.md: one row per model option, x where the model takes it."""
    header, *rows = _rows()
    code = re.compile(r"(--[a-z-]+(?: logistic)?)")
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---", "---", *[":-:"] * (len(header) - 3), "---"]) + " |"]
    for flag, sets, *marks, needs in rows:
        lines.append("| " + " | ".join([f"`{flag}`", f"`{sets}`", *marks, code.sub(r"`\1`", needs)]) + " |")
    return "\n".join(lines)


def text_table() -> str:
    """The table for ``train --help``: the rows of :func:`markdown_table` in columns, "needs" below them."""
    rows = [row[:-1] for row in _rows()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.center(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    by_need: dict[str, list[str]] = {}
    for option in MODEL_OPTIONS:
        if option.needs:
            by_need.setdefault(option.needs, []).append(option.flag)
    needs = ";\n".join(f"{', '.join(flags[:-1])} and {flags[-1]} need {need}" if len(flags) > 1 else f"{flags[0]} needs {need}"
                      for need, flags in by_need.items())
    return "model options: x where the model takes the option; any other model refuses it\n\n" + "\n".join(lines) + f"\n\n{needs}"
