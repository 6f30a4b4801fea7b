"""Run profiles: how big the data, models and training budgets are, and where they run.

``quick`` (the default without CUDA) keeps every notebook to a couple of minutes on two CPU cores
with the embedded MNIST digits; its outputs are the ones stored in the notebooks. ``gpu`` (the
default with CUDA) is sized for a lecture: full MNIST, larger models and 256 levels, every notebook
in a few minutes on one T4-class GPU (the budgets and the FLOP counts behind them are in
``docs/gpu.md``). ``full`` is an old name for ``gpu``.

Environment variables (the notebooks' setup cells read them through this module):

- ``PIXELCNN_EDU_PROFILE=quick|gpu`` chooses the profile.
- ``PIXELCNN_EDU_DEVICE=cpu|cuda|cuda:N|mps`` chooses the device (``notebooks/conftest.py`` pins
  ``cpu`` and ``quick`` for ``pytest --nbval``, whose stored outputs are the quick profile's on a CPU).
- ``PIXELCNN_EDU_SMOKE=1`` shrinks every training and evaluation budget to a few steps, for a run
  that only checks that each cell works (CI runs the gpu profile's notebooks this way on its CPU).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

import torch

from . import data

ENV_VAR = "PIXELCNN_EDU_PROFILE"
DEVICE_ENV_VAR = "PIXELCNN_EDU_DEVICE"
SMOKE_ENV_VAR = "PIXELCNN_EDU_SMOKE"
ALIASES = {"full": "gpu"}  # older name -> profile


@dataclass(frozen=True)
class Profile:
    """Budgets for one profile (all plain numbers, so notebooks can print them)."""

    name: str
    dataset: str  # name for data.load_dataset
    levels: int  # values per sub-pixel for the grey models
    hidden: int  # PixelCNN feature maps
    n_layers: int  # PixelCNN residual blocks
    kernel_size: int  # mask-B kernel inside the blocks
    epochs: int
    batch_size: int
    lr: float
    train_limit: int | None  # use only the first N training images (None: all)
    test_limit: int | None  # evaluate on the first N test images (None: all)
    n_samples: int  # images drawn in sampling demos
    color_dataset: str  # colour images for notebook 03 and later
    color_levels: int  # values per colour sub-pixel
    color_epochs: int  # notebook 03's independent vs R -> G -> B comparison
    made_hidden: int  # notebook 01's MADE: units per hidden layer
    made_layers: int  # notebook 01's MADE: hidden layers
    made_epochs: int
    gated_hidden: int  # Gated PixelCNN maps per stack (about the PixelCNN's parameters)
    gated_layers: int  # Gated PixelCNN layers after the first
    pp_hidden: int  # PixelCNN++ feature maps per stream (the paper: 160)
    pp_layers: int  # PixelCNN++ gated ResNet blocks per stage (the paper: 5)
    transformer_hidden: int  # PixelTransformer features per token (quick: about the gated model's parameters)
    transformer_layers: int  # PixelTransformer blocks
    mixture_train_limit: int | None  # notebook 05 trains its models on the first N images (None: all)
    race_train: int  # notebook 07's race: training images per model (one epoch)
    race_train_256: int  # notebook 07's 256-level race: training images per model
    race_test: int  # notebook 07's race: test images
    race_batch_size: int
    smoke: bool = False  # budgets shrunk to a few steps (PIXELCNN_EDU_SMOKE): checks cells, not results

    def as_dict(self) -> dict:
        return asdict(self)

    def load(self, split: str, levels: int, *, color: bool = False) -> data.ImageDataset:
        """This profile's grey (``dataset``) or colour (``color_dataset``) split, cut to
        ``train_limit`` or ``test_limit`` images when the profile sets one."""
        dataset = data.load_dataset(self.color_dataset if color else self.dataset, split, levels=levels)
        limit = self.train_limit if split == "train" else self.test_limit
        return dataset.subset(limit) if limit is not None else dataset

    def shrunk(self) -> "Profile":
        """The same profile with every budget cut to a few optimisation steps and small test sets:
        the same code paths and model sizes, run only to prove that they work."""
        few = 2 * min(self.batch_size, 16)
        return replace(
            self, epochs=1, batch_size=min(self.batch_size, 16), train_limit=few, test_limit=few, n_samples=min(self.n_samples, 4),
            color_epochs=1, made_epochs=1, mixture_train_limit=few, race_train=few, race_train_256=few, race_test=few,
            race_batch_size=min(self.race_batch_size, 16), smoke=True,
        )


PROFILES = {
    "quick": Profile(
        name="quick", dataset=data.EMBEDDED, levels=2, hidden=32, n_layers=4, kernel_size=3,
        epochs=2, batch_size=64, lr=2e-3, train_limit=None, test_limit=None, n_samples=8,
        color_dataset=data.COLORED, color_levels=4, color_epochs=5, made_hidden=512, made_layers=1, made_epochs=5,
        gated_hidden=12, gated_layers=4, pp_hidden=16, pp_layers=1, transformer_hidden=24, transformer_layers=2,
        mixture_train_limit=1500, race_train=2048, race_train_256=768, race_test=250, race_batch_size=32,
    ),
    # Sized from FLOP counts for a T4 (docs/gpu.md, benchmarks/gpu_budget.py): full MNIST, wider and
    # deeper models, 256 levels for colour, a few epochs each.
    "gpu": Profile(
        name="gpu", dataset="mnist", levels=2, hidden=128, n_layers=7, kernel_size=3,
        epochs=1, batch_size=128, lr=1e-3, train_limit=None, test_limit=None, n_samples=32,
        color_dataset="cifar10", color_levels=256, color_epochs=3, made_hidden=2000, made_layers=2, made_epochs=10,
        gated_hidden=44, gated_layers=8, pp_hidden=64, pp_layers=2, transformer_hidden=128, transformer_layers=4,
        mixture_train_limit=None, race_train=60000, race_train_256=20000, race_test=2000, race_batch_size=64,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, else ``$PIXELCNN_EDU_PROFILE``, else gpu with CUDA, quick without;
    shrunk to a few steps when ``$PIXELCNN_EDU_SMOKE`` is set to 1."""
    name = name or os.environ.get(ENV_VAR) or ("gpu" if torch.cuda.is_available() else "quick")
    name = ALIASES.get(name, name)
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (from argument or ${ENV_VAR}); choose one of {names()}")
    smoke = os.environ.get(SMOKE_ENV_VAR, "")
    if smoke not in ("", "0", "1"):
        raise ValueError(f"${SMOKE_ENV_VAR} must be 1 (shrink the budgets) or 0/unset, got {smoke!r}")
    return PROFILES[name].shrunk() if smoke == "1" else PROFILES[name]


def names() -> list[str]:
    """Every name ``get_profile`` accepts: the profiles and their older aliases."""
    return sorted([*PROFILES, *ALIASES])


def default_device() -> torch.device:
    """``$PIXELCNN_EDU_DEVICE`` if set, else CUDA if available, else CPU. Only notebooks' setup cells
    and the CLI call this."""
    chosen = os.environ.get(DEVICE_ENV_VAR)
    if not chosen:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(chosen)
    except RuntimeError:
        raise ValueError(f"${DEVICE_ENV_VAR}={chosen!r} is not a device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"${DEVICE_ENV_VAR}={chosen!r} but this machine has no CUDA device")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"${DEVICE_ENV_VAR}={chosen!r}: use cpu, cuda, cuda:N or mps")
    return device


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed torch's global generator and return a fresh CPU generator seeded the same."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
