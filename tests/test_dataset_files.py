"""data: MNIST, FashionMNIST and CIFAR-10 loaded from files in their published formats.

Each test writes a few dozen small random images, with known pixels and labels, into a temporary
root in the layout torchvision reads (``MNIST/raw/*-idx?-ubyte``, ``cifar-10-batches-py/*``), then
checks that ``load_dataset(..., download=False)`` returns exactly those images on the level grid.
Nothing is downloaded. Only CIFAR-10's MD5 check is patched: torchvision knows the sums of the
published files, not of these.
"""

from __future__ import annotations

import io
import pickle
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar

from pixelcnn_edu import data

MNIST_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
N_IMAGES = {"train": 30, "test": 12}  # different sizes, so a swapped split shows in the shapes too
CIFAR_BATCH = {"train": 4, "test": 6}  # images per batch file: data_batch_1..5 and test_batch
Arrays = dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (uint8 images, labels)


def on_grid(pixels: np.ndarray, levels: int) -> torch.Tensor:
    """uint8 pixels v -> float32 k / (levels - 1), where k is the level nearest v / 255.

    Integer arithmetic, independent of ``data.quantize``: k = floor((2 (levels - 1) v + 255) / 510).
    There are no ties (2 (levels - 1) v is even, 255 (2k + 1) is odd), and for levels = 2 this is
    v >= 128, i.e. v / 255 > 0.5, the binarisation threshold.
    """
    k = (2 * (levels - 1) * pixels.astype(np.int64) + 255) // 510
    return torch.from_numpy(k).float() / (levels - 1)


def assert_loaded_exactly(
    ds: data.ImageDataset, name: str, pixels: np.ndarray, labels: np.ndarray, levels: int
) -> None:
    """``ds`` holds ``pixels`` (N, C, H, W) uint8 quantised to ``levels``, and ``labels``, in order."""
    assert ds.name == name and ds.levels == levels  # the real files, not the fallback
    assert ds.images.shape == pixels.shape and ds.images.dtype == torch.float32
    assert ds.images.min() >= 0 and ds.images.max() <= 1
    assert torch.equal(ds.images, on_grid(pixels, levels))
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == labels.tolist()


def load_quietly(name: str, split: str, levels: int, root: Path) -> data.ImageDataset:
    """load_dataset with download=False and any warning (a fallback) raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return data.load_dataset(name, split, levels=levels, root=root, download=False)


def not_on_disk(name: str, root: Path) -> str:
    """The start of the message load_dataset gives for a dataset missing from ``root``."""
    return f"{name} is not on disk \\(download=False\\) into {re.escape(str(root.resolve()))}: "


# --- MNIST and FashionMNIST: IDX files --------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file: magic 0x0000080D (0x08 = unsigned bytes, D = number of dimensions), so 2051 for
    images and 2049 for labels, then each size, all big-endian 32-bit; then the bytes, row-major."""
    assert array.dtype == np.uint8
    magic = {3: 2051, 1: 2049}[array.ndim]
    path.write_bytes(struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.tobytes())


def mnist_arrays(seed: int) -> Arrays:
    """Per split, (N, 28, 28) uint8 images and (N,) uint8 labels in 0..9."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in N_IMAGES.items():
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, :2] = (0, 255)  # both ends of the range, whatever the draw
        arrays[split] = images, rng.integers(0, 10, size=n, dtype=np.uint8)
    return arrays


@pytest.fixture(params=sorted(MNIST_FOLDERS))
def mnist_files(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, Arrays]:
    """(name, root, arrays): the four IDX files of "mnist" or "fashion-mnist" under ``root``."""
    name = request.param
    arrays = mnist_arrays(seed=len(name))  # different pixels for the two datasets
    raw = tmp_path / MNIST_FOLDERS[name] / "raw"
    raw.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = arrays[split]
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    assert (raw / "train-labels-idx1-ubyte").read_bytes()[:8] == bytes.fromhex("00000801 0000001e")  # 2049, 30
    assert (raw / "t10k-images-idx3-ubyte").read_bytes()[:16] == bytes.fromhex("00000803 0000000c 0000001c 0000001c")
    return name, tmp_path, arrays


@pytest.mark.parametrize("levels", [2, 4, 256])
@pytest.mark.parametrize("split", ["train", "test"])
def test_idx_files_load_pixel_exact(mnist_files, split: str, levels: int) -> None:
    name, root, arrays = mnist_files
    images, labels = arrays[split]
    assert len(np.unique(images)) == 256  # every byte value is read and quantised
    ds = load_quietly(name, split, levels, root)
    assert ds.in_channels == 1 and ds.image_size == (28, 28)
    assert_loaded_exactly(ds, name, images[:, None], labels, levels)
    if levels == 256:  # the full byte range, unchanged: v / 255
        assert torch.equal(ds.images.squeeze(1) * 255, torch.from_numpy(images).float())


@pytest.mark.parametrize("missing", IDX_FILES)
def test_missing_idx_file_raises_dataset_unavailable(mnist_files, missing: str) -> None:
    """torchvision wants all four files, whichever split is asked for."""
    name, root, _ = mnist_files
    (root / MNIST_FOLDERS[name] / "raw" / missing).unlink()
    with pytest.raises(data.DatasetUnavailable, match=not_on_disk(name, root) + "Dataset not found"):
        data.load_dataset(name, "train", levels=4, root=root, download=False, fallback=False)


def test_truncated_idx_file_raises_dataset_unavailable(mnist_files) -> None:
    name, root, _ = mnist_files
    path = root / MNIST_FOLDERS[name] / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-28])  # one row of the last image lost
    with pytest.raises(data.DatasetUnavailable, match=not_on_disk(name, root)):
        data.load_dataset(name, "test", levels=4, root=root, download=False, fallback=False)


def test_missing_idx_file_falls_back_to_embedded_digits_with_a_warning(mnist_files) -> None:
    name, root, _ = mnist_files
    (root / MNIST_FOLDERS[name] / "raw" / "t10k-labels-idx1-ubyte").unlink()
    fell_back = not_on_disk(name, root) + r".*Falling back to the embedded MNIST digits \(mnist-embedded\)"
    with pytest.warns(UserWarning, match=fell_back):
        ds = data.load_dataset(name, "test", levels=4, root=root, download=False)  # fallback=True is the default
    assert ds.name == data.EMBEDDED and ds.levels == 4
    assert torch.equal(ds.images, data.load_dataset(data.EMBEDDED, "test", levels=4).images)


# --- CIFAR-10: pickled batches ---------------------------------------------------------------


class _Python2Pickler(pickle._Pickler):
    """Pickles ``bytes`` as Python 2 strings, as the published CIFAR-10 batches were written.

    Such files load with bytes keys under ``pickle.load(f, encoding="bytes")`` (the recipe on the
    CIFAR page) and with str keys under ``encoding="latin1"`` (what torchvision uses). A Python 3
    pickle of bytes keys would not: it reloads as bytes either way.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def write_batch(path: Path, batch: dict) -> None:
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(batch)
    path.write_bytes(buffer.getvalue())


def cifar_images(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3, 32, 32) uint8 with R in 0..84, G in 85..169 and B in 170..255, so a channel swap shows."""
    low, width = np.array([0, 85, 170])[:, None, None], np.array([85, 85, 86])[:, None, None]
    return (low + rng.integers(0, width, size=(n, 3, 32, 32))).astype(np.uint8)


@pytest.fixture
def cifar_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Arrays]:
    """(root, arrays): ``root/cifar-10-batches-py`` with five training batches, a test batch and
    batches.meta; ``arrays[split]`` = ((N, 3, 32, 32) uint8 images, (N,) labels) in file order."""
    rng = np.random.default_rng(10)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
    arrays: dict[str, list] = {"train": [], "test": []}
    for index, file in enumerate(names):
        split = "test" if file == "test_batch" else "train"
        n = CIFAR_BATCH[split]
        images, labels = cifar_images(n, rng), rng.integers(0, 10, size=n).tolist()
        write_batch(folder / file, {
            b"batch_label": f"{'testing' if split == 'test' else 'training'} batch {index + 1} of 5".encode(),
            b"labels": labels,
            b"data": images.reshape(n, 3072),  # a row: 1,024 red, then green, then blue; each row-major
            b"filenames": [f"image_{index}_{i}.png".encode() for i in range(n)],
        })
        arrays[split].append((images, labels))
    classes = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    meta = {b"num_cases_per_batch": CIFAR_BATCH["train"], b"label_names": classes, b"num_vis": 3072}
    write_batch(folder / "batches.meta", meta)
    with open(folder / "test_batch", "rb") as f:
        assert set(pickle.load(f, encoding="bytes")) == {b"batch_label", b"labels", b"data", b"filenames"}

    # Our files are not the published ones, so their MD5 sums differ: check that they exist instead.
    # (Patching CIFAR10._check_integrity alone is not enough: batches.meta is checked separately.)
    original = torchvision.datasets.cifar.check_integrity
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda fpath, md5=None: original(fpath))
    split_arrays = {
        split: (np.concatenate([images for images, _ in batches]), np.array(sum((labels for _, labels in batches), [])))
        for split, batches in arrays.items()
    }
    return tmp_path, split_arrays


@pytest.mark.parametrize("levels", [2, 4, 256])
@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar_batches_load_pixel_exact(cifar_files, split: str, levels: int) -> None:
    root, arrays = cifar_files
    images, labels = arrays[split]
    assert len(images) == (5 * CIFAR_BATCH["train"] if split == "train" else CIFAR_BATCH["test"])
    ds = load_quietly("cifar10", split, levels, root)
    assert ds.in_channels == 3 and ds.image_size == (32, 32)
    assert_loaded_exactly(ds, "cifar10", images, labels, levels)


def test_cifar_channels_are_red_green_blue_in_row_major_order(cifar_files) -> None:
    """Image n's sub-pixel (c, i, j) is byte 1024 c + 32 i + j of row n of b"data"."""
    root, arrays = cifar_files
    rows = arrays["test"][0].reshape(-1, 3072)
    ds = load_quietly("cifar10", "test", 256, root)
    bytes_read = (ds.images * 255).round().to(torch.uint8)  # (N, 3, 32, 32)
    for n, c, i, j in [(0, 0, 0, 1), (1, 1, 2, 3), (2, 2, 31, 0), (5, 2, 7, 30)]:
        assert bytes_read[n, c, i, j].item() == rows[n, 1024 * c + 32 * i + j]
    red, green, blue = bytes_read.unbind(1)
    assert red.max() < 85 <= green.min() and green.max() < 170 <= blue.min()


@pytest.mark.parametrize("missing", ["data_batch_3", "test_batch", "batches.meta"])
def test_missing_cifar_file_raises_dataset_unavailable(cifar_files, missing: str) -> None:
    root, _ = cifar_files
    (root / "cifar-10-batches-py" / missing).unlink()
    not_found = not_on_disk("cifar10", root) + r"Dataset (metadata file )?not found"
    with pytest.raises(data.DatasetUnavailable, match=not_found):
        data.load_dataset("cifar10", "test", levels=4, root=root, download=False, fallback=False)


def test_missing_cifar_file_falls_back_to_coloured_digits_with_a_warning(cifar_files) -> None:
    root, _ = cifar_files
    (root / "cifar-10-batches-py" / "data_batch_5").unlink()
    fell_back = not_on_disk("cifar10", root) + r".*Falling back to the embedded MNIST digits \(colored-mnist\)"
    with pytest.warns(UserWarning, match=fell_back):
        ds = data.load_dataset("cifar10", "train", levels=4, root=root, download=False)
    assert ds.name == data.COLORED and ds.in_channels == 3
    assert torch.equal(ds.images, data.load_dataset(data.COLORED, "train", levels=4).images)
