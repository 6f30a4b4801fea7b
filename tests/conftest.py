"""Shared tiny fixtures: seeded generators, small models, random images on the level grid.

Everything here is small (images of at most 8x8, ``hidden=8``) so the whole suite runs in
seconds on a couple of CPU cores, and seeded so every run sees the same numbers.
"""

from __future__ import annotations

from typing import Any, Callable

import sys
from pathlib import Path

import pytest
import torch

from pixelcnn_edu import data, models

# The tensors here are tiny: a second thread only adds synchronisation, and on shared, busy
# cores OpenMP's waiting makes a 1 ms convolution take hundreds of milliseconds.
torch.set_num_threads(1)

# The worked solutions live beside the notebooks, outside the package: tests import them as ``solutions``.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))


def seeded_model(cls: type[models.AutoregressiveModel], seed: int = 0, **kwargs: Any) -> models.AutoregressiveModel:
    """Build ``cls(**kwargs)`` with weights drawn from ``seed`` without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(**kwargs)


def grid_images(
    n: int, channels: int, size: tuple[int, int], levels: int, generator: torch.Generator
) -> torch.Tensor:
    """(n, channels, H, W) float32 images with values k / (levels - 1), drawn uniformly."""
    return torch.randint(levels, (n, channels, *size), generator=generator).float() / (levels - 1)


@pytest.fixture
def generator() -> torch.Generator:
    """A CPU generator seeded with 0."""
    return torch.Generator().manual_seed(0)


@pytest.fixture
def make_images() -> Callable[..., torch.Tensor]:
    """Factory: ``make_images(n=2, channels=1, size=(5, 6), levels=2, seed=0)`` -> images on the grid."""

    def make(n: int = 2, channels: int = 1, size: tuple[int, int] = (5, 6), levels: int = 2, seed: int = 0) -> torch.Tensor:
        return grid_images(n, channels, size, levels, torch.Generator().manual_seed(seed))

    return make


@pytest.fixture
def make_model() -> Callable[..., models.AutoregressiveModel]:
    """Factory: ``make_model(cls, seed=0, **kwargs)`` builds a model with seeded weights."""
    return seeded_model


@pytest.fixture
def make_pixelcnn() -> Callable[..., models.PixelCNN]:
    """Factory for a tiny seeded PixelCNN; keyword arguments override the defaults."""

    def make(seed: int = 0, **overrides: Any) -> models.PixelCNN:
        kwargs: dict[str, Any] = dict(in_channels=1, levels=2, hidden=8, n_layers=2, kernel_size=3, input_kernel_size=3)
        kwargs.update(overrides)
        return seeded_model(models.PixelCNN, seed, **kwargs)  # type: ignore[return-value]

    return make


@pytest.fixture(scope="session")
def digits_train() -> data.ImageDataset:
    """The embedded MNIST training split, binarised (4,500 digits, 1x28x28). Loaded once."""
    return data.load_dataset(data.EMBEDDED, "train", levels=2)


@pytest.fixture(scope="session")
def digit_crops(digits_train: data.ImageDataset) -> data.ImageDataset:
    """200 binarised 8x8 crops from the centre of embedded training digits (for quick training)."""
    images = digits_train.images[:200, :, 10:18, 10:18].contiguous()
    return data.ImageDataset(images, digits_train.labels[:200], 2, "digit-crops")


@pytest.fixture
def few_crops(digit_crops: data.ImageDataset) -> data.ImageDataset:
    """The first 16 of ``digit_crops``: two batches of 8, for tests of what ``fit`` accepts and resumes."""
    return digit_crops.subset(16)
