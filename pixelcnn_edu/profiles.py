"""Run profiles: how big the data, models and training budgets are.

``quick`` (the default without CUDA) keeps every notebook to a couple of minutes on two
CPU cores with the embedded MNIST digits; ``full`` (the default with CUDA) uses full
MNIST, paper-size models and long training. Set ``PIXELCNN_EDU_PROFILE=quick|full`` to
choose explicitly.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch

ENV_VAR = "PIXELCNN_EDU_PROFILE"


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
    n_samples: int  # images drawn in sampling demos
    color_dataset: str  # colour images for notebook 03 and later
    color_levels: int  # values per colour sub-pixel
    gated_hidden: int  # Gated PixelCNN maps per stack (about the PixelCNN's parameters)
    gated_layers: int  # Gated PixelCNN layers after the first
    pp_hidden: int  # PixelCNN++ feature maps per stream (the paper: 160)
    pp_resnet: int  # PixelCNN++ gated ResNet blocks per stage (the paper: 5)
    transformer_d_model: int  # PixelTransformer features per token (quick: about the gated model's parameters)
    transformer_layers: int  # PixelTransformer blocks
    mixture_train_limit: int | None  # notebook 05 trains its models on the first N images (None: all)

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "quick": Profile(
        name="quick", dataset="mnist-embedded", levels=2, hidden=32, n_layers=4, kernel_size=3,
        epochs=2, batch_size=64, lr=2e-3, train_limit=None, n_samples=8,
        color_dataset="colored-mnist", color_levels=4, gated_hidden=12, gated_layers=4,
        pp_hidden=16, pp_resnet=1, transformer_d_model=24, transformer_layers=2, mixture_train_limit=1500,
    ),
    "full": Profile(
        name="full", dataset="mnist", levels=2, hidden=128, n_layers=7, kernel_size=3,
        epochs=30, batch_size=128, lr=1e-3, train_limit=None, n_samples=32,
        color_dataset="cifar10", color_levels=256, gated_hidden=64, gated_layers=8,
        pp_hidden=160, pp_resnet=5, transformer_d_model=256, transformer_layers=8, mixture_train_limit=None,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, else ``$PIXELCNN_EDU_PROFILE``, else full with CUDA, quick without."""
    name = name or os.environ.get(ENV_VAR) or ("full" if torch.cuda.is_available() else "quick")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (from argument or ${ENV_VAR}); choose one of {sorted(PROFILES)}")
    return PROFILES[name]


def default_device() -> torch.device:
    """CUDA if available, else CPU. Only notebooks' setup cells and the CLI call this."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed torch's global generator and return a fresh CPU generator seeded the same."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
